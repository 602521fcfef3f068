//! RFC 3863 PIDF presence documents (`application/pidf+xml`): reads the
//! basic open/closed status, notes and RPID activities of a watched entity
//! (busy, do not disturb), and builds the document we PUBLISH. Pure; bad
//! XML is an error, never a panic.

use super::xml::{self, XmlError};

/// The basic status of a tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basic {
    Open,
    Closed,
}

/// What a presence document says about its entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub entity: Option<String>,
    /// Open when any tuple is open; `None` without a `<basic>`.
    pub basic: Option<Basic>,
    /// Every `<note>`, document order.
    pub notes: Vec<String>,
    /// RPID activity names (`busy`, `on-the-phone`, `away`, …).
    pub activities: Vec<String>,
}

impl Presence {
    /// "Do not disturb" in a note, or a `dnd`-like activity.
    pub fn dnd(&self) -> bool {
        self.notes.iter().any(|n| {
            let n = n.to_ascii_lowercase();
            n.contains("do not disturb") || n.contains("do-not-disturb") || n == "dnd"
        }) || self
            .activities
            .iter()
            .any(|a| a.eq_ignore_ascii_case("do-not-disturb"))
    }

    /// Busy by note or activity (DND counts as busy).
    pub fn busy(&self) -> bool {
        self.dnd()
            || self
                .notes
                .iter()
                .any(|n| n.to_ascii_lowercase().contains("busy"))
            || self
                .activities
                .iter()
                .any(|a| a.eq_ignore_ascii_case("busy") || a.eq_ignore_ascii_case("on-the-phone"))
    }
}

/// What a watcher shows of a presence document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Available,
    Away,
    Busy,
    DoNotDisturb,
    /// `basic` closed: the entity cannot be reached.
    Offline,
}

impl Availability {
    /// The name used in the control protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Available => "available",
            Availability::Away => "away",
            Availability::Busy => "busy",
            Availability::DoNotDisturb => "dnd",
            Availability::Offline => "offline",
        }
    }
}

impl Presence {
    /// The availability the document states; `None` when it states nothing
    /// (no `<basic>` and no activity we know).
    pub fn availability(&self) -> Option<Availability> {
        let away = self.activities.iter().any(|a| {
            ["away", "vacation", "sleeping"]
                .iter()
                .any(|x| a.eq_ignore_ascii_case(x))
        });
        if self.dnd() {
            Some(Availability::DoNotDisturb)
        } else if self.busy() {
            Some(Availability::Busy)
        } else if self.basic == Some(Basic::Closed) {
            Some(Availability::Offline)
        } else if away {
            Some(Availability::Away)
        } else if self.basic == Some(Basic::Open) {
            Some(Availability::Available)
        } else {
            None
        }
    }
}

/// Parses a PIDF document.
pub fn parse(body: &str) -> Result<Presence, XmlError> {
    let doc = xml::parse(body)?;
    let root = doc.root_element();
    if root.tag_name().name() != "presence" {
        return Err(XmlError::Unexpected(format!(
            "root element <{}>, expected <presence>",
            root.tag_name().name()
        )));
    }
    let mut basic = None;
    for b in xml::descendants(root, "basic") {
        match xml::text(b).map(|t| t.to_ascii_lowercase()).as_deref() {
            Some("open") => basic = Some(Basic::Open),
            Some("closed") if basic.is_none() => basic = Some(Basic::Closed),
            _ => {}
        }
    }
    let notes = xml::descendants(root, "note")
        .filter_map(xml::text)
        .collect();
    let activities = xml::descendants(root, "activities")
        .flat_map(|a| a.children().filter(|c| c.is_element()))
        .map(|c| c.tag_name().name().to_string())
        .collect();
    Ok(Presence {
        entity: root.attribute("entity").map(str::to_string),
        basic,
        notes,
        activities,
    })
}

/// A PIDF document for `entity` (our AOR): basic open/closed, an optional
/// note, and an RPID `busy` activity when `busy` is set.
pub fn build(entity: &str, open: bool, note: Option<&str>, busy: bool) -> String {
    let entity = xml::escape(entity);
    let basic = if open { "open" } else { "closed" };
    let note = note
        .map(|n| format!("<note>{}</note>", xml::escape(n)))
        .unwrap_or_default();
    let person = if busy {
        format!(
            "<dm:person id=\"p1\"><rpid:activities><rpid:busy/></rpid:activities>{note}</dm:person>"
        )
    } else {
        String::new()
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <presence xmlns=\"urn:ietf:params:xml:ns:pidf\" \
         xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" \
         xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"{entity}\">\
         <tuple id=\"t1\"><status><basic>{basic}</basic></status>{note}</tuple>{person}</presence>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_and_parse_round_trip() {
        let doc = build("sip:1001@test.local", false, Some("Do Not Disturb"), true);
        let p = parse(&doc).unwrap();
        assert_eq!(p.entity.as_deref(), Some("sip:1001@test.local"));
        assert_eq!(p.basic, Some(Basic::Closed));
        assert!(p.dnd());
        assert!(p.busy());
        assert_eq!(p.activities, vec!["busy".to_string()]);
        let open = parse(&build("sip:a@b", true, None, false)).unwrap();
        assert_eq!(open.basic, Some(Basic::Open));
        assert!(!open.busy() && !open.dnd());
        let busy = parse(&build("sip:a@b", true, Some("Busy"), false)).unwrap();
        assert!(busy.busy() && !busy.dnd());
    }

    #[test]
    fn foreign_prefixes_and_escaping() {
        let doc = r#"<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" entity="sip:x@y">
          <p:tuple id="a"><p:status><p:basic>closed</p:basic></p:status></p:tuple>
          <p:tuple id="b"><p:status><p:basic>open</p:basic></p:status><p:note>on a call &amp; busy</p:note></p:tuple>
        </p:presence>"#;
        let p = parse(doc).unwrap();
        assert_eq!(p.basic, Some(Basic::Open));
        assert_eq!(p.notes, vec!["on a call & busy".to_string()]);
        assert!(p.busy());
        let evil = build("sip:a@b\"><x", true, Some("<script>&"), false);
        let back = parse(&evil).unwrap();
        assert_eq!(back.entity.as_deref(), Some("sip:a@b\"><x"));
        assert_eq!(back.notes, vec!["<script>&".to_string()]);
    }

    #[test]
    fn availability_of_documents() {
        let av = |doc: &str| parse(doc).unwrap().availability();
        assert_eq!(
            av(&build("sip:a@b", false, Some("Do Not Disturb"), true)),
            Some(Availability::DoNotDisturb)
        );
        assert_eq!(
            av(&build("sip:a@b", true, None, true)),
            Some(Availability::Busy)
        );
        assert_eq!(
            av(&build("sip:a@b", false, None, false)),
            Some(Availability::Offline)
        );
        assert_eq!(
            av(&build("sip:a@b", true, None, false)),
            Some(Availability::Available)
        );
        let away = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:a@b">
          <tuple id="t"><status><basic>open</basic></status></tuple>
          <person id="p"><rpid:activities><rpid:away/></rpid:activities></person></presence>"#;
        assert_eq!(av(away), Some(Availability::Away));
        let empty = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>"#;
        assert_eq!(av(empty), None);
        assert_eq!(Availability::DoNotDisturb.as_str(), "dnd");
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            "",
            "<presence",
            "<dialog-info/>",
            "<!DOCTYPE p [<!ENTITY x 'y'>]><presence>&x;</presence>",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
