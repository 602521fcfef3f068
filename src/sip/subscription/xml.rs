//! Small helpers over `roxmltree` for the event-package bodies: a size
//! limit, no DTDs (so no entity expansion), and look-up of children by
//! local name whatever their namespace prefix.

/// Largest body we parse.
pub const MAX_BODY: usize = 256 * 1024;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("body too large ({0} bytes)")]
    TooLarge(usize),
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("unexpected document: {0}")]
    Unexpected(String),
}

/// Parses a document (DTDs refused).
pub fn parse(body: &str) -> Result<roxmltree::Document<'_>, XmlError> {
    if body.len() > MAX_BODY {
        return Err(XmlError::TooLarge(body.len()));
    }
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(body, opts)
        .map_err(|e| XmlError::Malformed(e.to_string()))
}

/// Element children of `node` with local name `name`.
pub fn children<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name().eq_ignore_ascii_case(name))
}

/// Element descendants of `node` (itself included) with local name `name`.
pub fn descendants<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    node.descendants()
        .filter(move |c| c.is_element() && c.tag_name().name().eq_ignore_ascii_case(name))
}

/// The trimmed text content of an element, `None` when empty.
pub fn text(node: roxmltree::Node) -> Option<String> {
    let t: String = node
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Text of the first child called `name`.
pub fn child_text(node: roxmltree::Node, name: &'static str) -> Option<String> {
    children(node, name).next().and_then(text)
}

/// Escapes text for element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}
