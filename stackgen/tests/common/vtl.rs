//! What the VTL tests share: hostile inputs and the mapping-template evaluator
//! (`tests/vtl/evaluate.py`, run by the project's virtualenv Python).

use std::io::Write;
use std::process::{Command, Stdio};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Callers' `sub` claims: a real one, and ones that would break a template that forgot to
/// escape the caller.
pub const SUBS: &[&str] = &[
    "6f1c2b1e-0d4a-4c1e-9a57-3f0c1f2e8b7d",
    "sub'with\"quotes\\and\nnewline&x=1",
    "é中😀",
];

/// Strings that break naive JSON, form or VTL templating. None is empty (path parameters and
/// the favorite's restaurant id cannot be).
pub const HOSTILE: &[&str] = &[
    "plain",
    "double \" quote",
    "single ' quote",
    "back\\slash",
    "escaped quotes \\' \\\" \\\\' \\\\\\'",
    "trailing backslash \\",
    "\\",
    "'",
    "\"",
    "line\nfeed\r\nreturn\ttab",
    "nul \u{0} controls \u{1}\u{7}\u{8}\u{b}\u{c}\u{e}\u{1b}\u{1f} del \u{7f} c1 \u{80}\u{9f}",
    "</script><script>alert(1)</script>",
    "unicode é ß 中文 😀 👩‍👩‍👧 \u{2028}\u{2029} \u{feff} \u{fffd} \u{10ffff}",
    "$util.escapeJavaScript('x') $input.path('$') $context.authorizer.claims.sub",
    "${AddressBus} ${!Literal} $!{quiet} \\$escaped",
    "#set($x = 1)#if(true)yes#end ## line comment\n#* block *# #{else}",
    "\", \"userId\": \"evil",
    "\\\", \\\"userId\\\": \\\"evil",
    "\"},{\"Source\":\"evil\",\"DetailType\":\"address.deleted\",\"Detail\":\"{}",
    "a&b=c+d%20e%2Bf;g h#frag?q=1",
    "&Action=DeleteQueue&MessageAttribute.1.Name=UserId&MessageAttribute.1.Value.StringValue=evil",
    "{\"json\": [1, 2]}",
    "null",
    "123",
    "true",
    " leading and trailing spaces ",
    "\u{0}",
];

/// Runs every case through `tests/vtl/evaluate.py` in one Python process, and returns one
/// result per case, in order.
pub fn evaluate<T: Serialize, O: DeserializeOwned>(cases: &[T]) -> Vec<O> {
    let script = super::repo().join("stackgen/tests/vtl/evaluate.py");
    let mut child = Command::new(super::tool("python"))
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the virtualenv Python");
    let request = serde_json::to_vec(&json!({ "cases": cases })).expect("cases serialize");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&request)
        .expect("write the cases");
    let out = child.wait_with_output().expect("wait for Python");
    assert!(
        out.status.success(),
        "{} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    #[derive(serde::Deserialize)]
    #[serde(bound = "O: DeserializeOwned")]
    struct Response<O> {
        results: Vec<O>,
    }
    let response: Response<O> =
        serde_json::from_slice(&out.stdout).expect("the evaluator answers JSON");
    assert_eq!(response.results.len(), cases.len());
    response.results
}
