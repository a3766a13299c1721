//! Every answer the end-to-end tests get is held to the API's OpenAPI document
//! (`generated/openapi/`): its status is one the route documents and its body matches the
//! documented schema. So the documents cannot drift from what the handlers and the gateway
//! really answer.

use std::sync::OnceLock;

use serde_json::Value;

/// One documented operation: its path template's segments and its `responses`.
struct Operation {
    method: String,
    segments: Vec<String>,
    responses: Value,
    /// The document's `components`, for the schemas' `$ref`s.
    components: Value,
    document: String,
}

fn operations() -> &'static [Operation] {
    static OPERATIONS: OnceLock<Vec<Operation>> = OnceLock::new();
    OPERATIONS.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../generated/openapi");
        let mut operations = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("generated/openapi/") {
            let path = entry.expect("an entry").path();
            let text = std::fs::read_to_string(&path).expect("a document");
            let doc: Value = serde_json::from_str(&text).expect("JSON");
            for (template, item) in doc["paths"].as_object().expect("paths") {
                for (method, op) in item.as_object().expect("a path item") {
                    if method == "parameters" {
                        continue;
                    }
                    operations.push(Operation {
                        method: method.to_ascii_uppercase(),
                        segments: template.split('/').skip(1).map(str::to_owned).collect(),
                        responses: op["responses"].clone(),
                        components: doc["components"].clone(),
                        document: path.display().to_string(),
                    });
                }
            }
        }
        operations
    })
}

/// The documented operation `method url` calls: its template's segments match the URL's
/// last segments (the stage, if any, comes before them).
fn find(method: &str, url: &str) -> Option<&'static Operation> {
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split_once('/')
        .map_or("", |(_, p)| p)
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    let segments: Vec<&str> = path.split('/').collect();
    operations().iter().find(|op| {
        op.method == method
            && segments.len() >= op.segments.len()
            && segments[segments.len() - op.segments.len()..]
                .iter()
                .zip(&op.segments)
                .all(|(got, want)| (want.starts_with('{') && !got.is_empty()) || got == want)
    })
}

/// Panics unless `status` and `body` are what the document says `method url` answers.
/// A URL no route has (the gateway's own 403 or 404) is not a documented operation.
pub fn check(method: &str, url: &str, status: u16, body: &Value) {
    let Some(op) = find(method, url) else {
        return;
    };
    let range = format!("{}XX", status / 100);
    let Some(response) = op
        .responses
        .get(status.to_string())
        .or_else(|| op.responses.get(&range))
    else {
        panic!(
            "{method} {url} answered {status}, which {} does not document for it (it documents {:?}): {body}",
            op.document,
            op.responses
                .as_object()
                .map(|r| r.keys().collect::<Vec<_>>())
        );
    };
    let Some(schema) = response["content"]["application/json"].get("schema") else {
        return;
    };
    let mut root = schema.clone();
    root["components"] = op.components.clone();
    let validator = jsonschema::validator_for(&root).expect("the documented schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at `{}`", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {url} answered {status} with a body {} does not document: {}\nbody: {body}",
        op.document,
        errors.join("; ")
    );
}
