//! The XML answers of IAM's awsQuery protocol: `<ActionResponse>` with the result and the
//! request id, or `<ErrorResponse>`.
//!
//! Written by hand rather than with an XML crate: the answers are a handful of fixed shapes
//! of elements holding text, with no attributes but the namespace and nothing to read back,
//! so escaping text is all a writer has to do, and that is a few lines here.

use super::NAMESPACE;

/// An element of an answer: text, or child elements.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    name: &'static str,
    content: Content,
}

#[derive(Debug, Clone, PartialEq)]
enum Content {
    Text(String),
    Children(Vec<Element>),
}

impl Element {
    /// `<name>text</name>`.
    pub fn text(name: &'static str, text: impl Into<String>) -> Element {
        Element {
            name,
            content: Content::Text(text.into()),
        }
    }

    /// `<name>children</name>`; `<name/>` without children.
    pub fn parent(name: &'static str, children: Vec<Element>) -> Element {
        Element {
            name,
            content: Content::Children(children),
        }
    }

    /// A list as awsQuery writes one: each item's fields inside a `<member>`.
    pub fn list(name: &'static str, items: Vec<Vec<Element>>) -> Element {
        let members = items
            .into_iter()
            .map(|fields| Element::parent("member", fields))
            .collect();
        Element::parent(name, members)
    }

    fn write(&self, out: &mut String) {
        match &self.content {
            Content::Children(children) if children.is_empty() => {
                out.push('<');
                out.push_str(self.name);
                out.push_str("/>");
            }
            Content::Children(children) => {
                open(self.name, out);
                for child in children {
                    child.write(out);
                }
                close(self.name, out);
            }
            Content::Text(text) => {
                open(self.name, out);
                escape_into(text, out);
                close(self.name, out);
            }
        }
    }
}

fn open(name: &str, out: &mut String) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

fn close(name: &str, out: &mut String) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Appends `text` with XML's special characters as entities. A carriage return is written as
/// a character reference because parsers turn a literal one into a line feed.
pub fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// A successful answer: `<{action}Response>`, holding `<{action}Result>` when the operation
/// has a result (DeleteRole, AttachRolePolicy and DetachRolePolicy have none), then the
/// request id. `action` is one of the operation names this service knows.
pub fn response(action: &str, result: Option<Vec<Element>>, request_id: &str) -> String {
    let mut out = format!("<{action}Response xmlns=\"{NAMESPACE}\">");
    if let Some(fields) = result {
        let wrapper = format!("{action}Result");
        open(&wrapper, &mut out);
        for field in fields {
            field.write(&mut out);
        }
        close(&wrapper, &mut out);
    }
    Element::parent(
        "ResponseMetadata",
        vec![Element::text("RequestId", request_id)],
    )
    .write(&mut out);
    close(&format!("{action}Response"), &mut out);
    out
}

/// An error answer: `<ErrorResponse>` with the error's `Type` (`Sender` or `Receiver`),
/// `Code` and `Message`, and the request id.
pub fn error_response(kind: &str, code: &str, message: &str, request_id: &str) -> String {
    let mut out = format!("<ErrorResponse xmlns=\"{NAMESPACE}\">");
    Element::parent(
        "Error",
        vec![
            Element::text("Type", kind),
            Element::text("Code", code),
            Element::text("Message", message),
        ],
    )
    .write(&mut out);
    Element::text("RequestId", request_id).write(&mut out);
    close("ErrorResponse", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let mut out = String::new();
        Element::text("Description", "a<b & \"c\" 'd'>\r\n").write(&mut out);
        assert_eq!(
            out,
            "<Description>a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;&#13;\n</Description>"
        );
    }

    #[test]
    fn lists_wrap_items_in_member() {
        let mut out = String::new();
        Element::list(
            "AttachedPolicies",
            vec![vec![Element::text("PolicyName", "P")], vec![]],
        )
        .write(&mut out);
        assert_eq!(
            out,
            "<AttachedPolicies><member><PolicyName>P</PolicyName></member><member/></AttachedPolicies>"
        );
    }

    #[test]
    fn a_response_without_result_carries_the_request_id() {
        assert_eq!(
            response("DeleteRole", None, "r-1"),
            format!(
                "<DeleteRoleResponse xmlns=\"{NAMESPACE}\"><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DeleteRoleResponse>"
            )
        );
    }
}
