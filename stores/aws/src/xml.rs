//! Just enough XML for STS's query-protocol answers: the text of the first `<Name>…</Name>`
//! element, entities decoded, into a zeroizing string (the text may be a secret key).
//!
//! STS answers are flat, attribute-free elements with escaped text; nothing here handles
//! CDATA, comments or namespaces prefixes, which STS does not send. A missing or malformed
//! element is `None`, and the caller says which one it expected.

use zeroize::Zeroizing;

/// The decoded text of the first element named `name` in `doc`.
pub(crate) fn element(doc: &str, name: &str) -> Option<Zeroizing<String>> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = doc.find(&open)? + open.len();
    let len = doc.get(start..)?.find(&close)?;
    unescape(doc.get(start..start + len)?)
}

/// `text` with XML's five named entities and numeric character references decoded; `None`
/// on an unknown or malformed entity.
fn unescape(text: &str) -> Option<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp)?);
        let after = rest.get(amp + 1..)?;
        let semi = after.find(';')?;
        let entity = after.get(..semi)?;
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()?
                } else {
                    entity.strip_prefix('#')?.parse::<u32>().ok()?
                };
                char::from_u32(code)?
            }
        };
        out.push(c);
        rest = after.get(semi + 1..)?;
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_element_text_is_decoded() {
        let doc = "<A><Code>AccessDenied</Code><Message>a &amp; b &lt;c&gt; &#65;&#x42;</Message>\
                   <Message>second</Message></A>";
        assert_eq!(
            element(doc, "Code").as_deref().map(String::as_str),
            Some("AccessDenied")
        );
        assert_eq!(
            element(doc, "Message").as_deref().map(String::as_str),
            Some("a & b <c> AB")
        );
    }

    #[test]
    fn missing_or_malformed_is_none() {
        assert!(element("<A></A>", "Code").is_none());
        assert!(element("<Code>open", "Code").is_none());
        assert!(element("<Code>&bogus;</Code>", "Code").is_none());
        assert!(element("<Code>&amp</Code>", "Code").is_none());
        assert_eq!(
            element("<Code></Code>", "Code")
                .as_deref()
                .map(String::as_str),
            Some("")
        );
    }
}
