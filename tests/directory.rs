//! `search` over a `[[directory]]` folder of vCards, the BLF lamps and the
//! history: a
//! contact with several numbers shows them all, a number finds its
//! contact, the best match comes first and `limit` cuts; a party called
//! (baresip) is found in the history; each result has the URI `dial`
//! would call, and dialling it reaches the peer.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::phone::call_id_of;
use support::setup::{baresip, direct_phone, PeerOpts, PhoneOpts};
use support::TestDir;

const LONG: Duration = Duration::from_secs(10);

fn results(reply: &Value) -> Vec<(String, String, String, String)> {
    reply["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
            (s("name"), s("number"), s("kind"), s("source"))
        })
        .collect()
}

#[test]
fn search_finds_contacts_with_all_their_numbers_and_the_history() {
    let t = TestDir::new("directory");
    let mut peer = baresip(&t, "4711", PeerOpts::tone(600.0));
    let cards = t.sub("contacts");
    std::fs::write(
        cards.join("anna.vcf"),
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna Schmidt\r\nTEL;TYPE=work:+49 89 1234-567\r\nTEL;TYPE=cell:+49 170 1234567\r\nTEL:3301\r\nEND:VCARD\r\n",
    )
    .unwrap();
    std::fs::write(
        cards.join("hannah.vcf"),
        "BEGIN:VCARD\nVERSION:4.0\nFN:Hannah Arendt\nTEL;TYPE=work:3310\nEND:VCARD\n",
    )
    .unwrap();
    std::fs::write(
        cards.join("notes.txt"),
        "BEGIN:VCARD\nFN:Not a card file\nTEL:1\nEND:VCARD\n",
    )
    .unwrap();
    let mut opts = PhoneOpts::new();
    opts.config = opts
        .config
        .vcard_directory(&cards)
        .blf("2200", Some("Lager"))
        .blf("3301", Some("Anna at the desk"));
    let mut p = direct_phone(&t, opts);

    // The BLF lamps are searched by their labels; a lamp whose number a
    // contact has is the contact's.
    let reply = p.ok(json!({"cmd": "search", "q": "lager"}));
    assert_eq!(
        results(&reply),
        [("Lager".into(), "2200".into(), "blf".into(), "blf".into())],
        "{reply}"
    );
    let reply = p.ok(json!({"cmd": "search", "q": "desk"}));
    assert!(
        !results(&reply).iter().any(|r| r.3 == "blf"),
        "a contact's number is not repeated as a lamp: {reply}"
    );

    let reply = p.ok(json!({"cmd": "search", "q": "anna"}));
    let found = results(&reply);
    let anna: Vec<_> = found.iter().filter(|r| r.0 == "Anna Schmidt").collect();
    assert_eq!(anna.len(), 3, "every number of the contact: {reply}");
    assert_eq!(
        found.first().map(|r| r.0.as_str()),
        Some("Anna Schmidt"),
        "{reply}"
    );
    let kinds: Vec<&str> = anna.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(kinds, ["work", "cell", "other"], "{reply}");
    assert!(anna.iter().all(|r| r.3.ends_with("anna.vcf")), "{reply}");
    assert!(
        found.iter().any(|r| r.0 == "Hannah Arendt"),
        "fuzzy: {reply}"
    );
    assert!(
        !found.iter().any(|r| r.0 == "Not a card file"),
        "only .vcf files: {reply}"
    );
    let first = &reply["results"][0];
    assert_eq!(
        first["uri"], "sip:+49891234567@127.0.0.1",
        "a dialable URI, separators dropped: {reply}"
    );

    // By number, separators or not; limit cuts.
    let reply = p.ok(json!({"cmd": "search", "q": "891234567"}));
    assert_eq!(
        results(&reply).first().map(|r| r.1.as_str()),
        Some("+49 89 1234-567"),
        "{reply}"
    );
    let reply = p.ok(json!({"cmd": "search", "q": "anna", "limit": 1}));
    assert_eq!(results(&reply).len(), 1, "{reply}");

    // A call makes a history entry; search finds it by the peer's user.
    let reply = p.ok(json!({"cmd": "dial", "to": peer.direct_uri()}));
    let id = call_id_of(&reply);
    assert!(
        p.wait_call_state(&id, "active", LONG).is_some(),
        "{:?}",
        p.events()
    );
    p.hang_up(&id);
    let reply = p.ok(json!({"cmd": "search", "q": "4711"}));
    let history = &reply["results"][0];
    assert_eq!(history["source"], "history", "{reply}");
    assert_eq!(history["kind"], "out", "{reply}");
    assert_eq!(history["uri"], peer.direct_uri(), "{reply}");

    // Once a contact has the number, it names it.
    std::fs::write(
        cards.join("peer.vcf"),
        format!(
            "BEGIN:VCARD\nVERSION:4.0\nFN:Test Peer\nIMPP:{}\nEND:VCARD\n",
            peer.direct_uri()
        ),
    )
    .unwrap();
    let reply = p.ok(json!({"cmd": "search", "q": "test peer"}));
    let contact = &reply["results"][0];
    assert_eq!(contact["name"], "Test Peer", "{reply}");
    assert_eq!(contact["kind"], "sip", "{reply}");
    assert_eq!(contact["uri"], peer.direct_uri(), "{reply}");
    let reply = p.ok(json!({"cmd": "search", "q": "4711"}));
    let found = results(&reply);
    assert!(found.iter().any(|r| r.0 == "Test Peer"), "{reply}");
    assert!(
        !found.iter().any(|r| r.3 == "history"),
        "the contact names the history's party: {reply}"
    );

    // Dialling a result's URI reaches the peer.
    let uri = contact["uri"].as_str().unwrap().to_string();
    let reply = p.ok(json!({"cmd": "dial", "to": uri}));
    let id = call_id_of(&reply);
    assert!(
        p.wait_call_state(&id, "active", LONG).is_some(),
        "{:?}",
        p.events()
    );
    assert!(peer.wait_event("CALL_ESTABLISHED", LONG).is_some());
    p.hang_up(&id);

    let (code, out) = p.ctl(&["search", "zzzz"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"results\":[]"), "{out}");
}
