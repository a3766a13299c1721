//! Evaluation of the IAM policy a Lambda TOKEN authorizer returns, against a method ARN.
//!
//! API Gateway caches an authorizer's policy per token and evaluates the cached policy on
//! every request, so the policy is parsed once ([`Policy::parse`]) and matched per request
//! ([`Policy::allows`]). The rules are IAM's, restricted to what execute-api policies use:
//!
//! - A statement applies when one of its `Action`s matches `execute-api:Invoke` and one of its
//!   `Resource`s matches the method ARN. Both compare with IAM's wildcards: `*` is any run of
//!   characters (`/` and `:` included), `?` is any one character; actions ignore case.
//! - An explicit `Deny` wins over any `Allow`; with no matching `Allow` the request is denied.
//! - Statements with `NotAction`, `NotResource` or `Condition` are not supported: they never
//!   apply, which errs on the side of denying.

use serde_json::Value;

/// The action API Gateway asks about.
const INVOKE: &str = "execute-api:Invoke";

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    allow: bool,
    actions: Vec<String>,
    resources: Vec<String>,
}

/// The policy document is not one API Gateway accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `Statement` is missing or neither an object nor an array of objects.
    #[error("the policy has no Statement list")]
    NoStatements,
    /// A statement's `Effect` is not `Allow` or `Deny`.
    #[error("statement {0} has an Effect other than Allow or Deny")]
    Effect(usize),
    /// A statement's `Action` or `Resource` is not a string or a list of strings.
    #[error("statement {index}: {field} is not a string or a list of strings")]
    Field {
        /// The statement's index.
        index: usize,
        /// `Action` or `Resource`.
        field: &'static str,
    },
}

impl Policy {
    /// Reads a `policyDocument` (`{"Version": .., "Statement": [..]}`; a single statement
    /// object is accepted too, as IAM does).
    pub fn parse(document: &Value) -> Result<Policy, PolicyError> {
        let statements = match document.get("Statement") {
            Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => return Err(PolicyError::NoStatements),
        };
        let mut parsed = Vec::with_capacity(statements.len());
        for (index, statement) in statements.into_iter().enumerate() {
            let object = statement.as_object().ok_or(PolicyError::NoStatements)?;
            let allow = match object.get("Effect").and_then(Value::as_str) {
                Some(e) if e.eq_ignore_ascii_case("allow") => true,
                Some(e) if e.eq_ignore_ascii_case("deny") => false,
                _ => return Err(PolicyError::Effect(index)),
            };
            let unsupported = ["NotAction", "NotResource", "Condition"]
                .iter()
                .any(|k| object.contains_key(*k));
            let actions = strings(object.get("Action"), index, "Action")?;
            let resources = strings(object.get("Resource"), index, "Resource")?;
            if !unsupported {
                parsed.push(Statement {
                    allow,
                    actions,
                    resources,
                });
            }
        }
        Ok(Policy { statements: parsed })
    }

    /// Whether the policy lets the caller invoke `method_arn`.
    pub fn allows(&self, method_arn: &str) -> bool {
        let mut allowed = false;
        for s in &self.statements {
            let applies = s.actions.iter().any(|a| wildcard_match(a, INVOKE, true))
                && s.resources
                    .iter()
                    .any(|r| wildcard_match(r, method_arn, false));
            if applies {
                if !s.allow {
                    return false;
                }
                allowed = true;
            }
        }
        allowed
    }
}

fn strings(
    value: Option<&Value>,
    index: usize,
    field: &'static str,
) -> Result<Vec<String>, PolicyError> {
    let bad = || PolicyError::Field { index, field };
    match value {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// IAM's wildcard match of `text` against `pattern`: `*` any run, `?` any one character.
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let same = |a: char, b: char| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it has swallowed up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && same(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:execute-api:us-east-1:000000000000:api1/Prod/GET/users/u-1";

    fn policy(statements: Value) -> Policy {
        Policy::parse(&json!({"Version": "2012-10-17", "Statement": statements})).unwrap()
    }

    #[test]
    fn an_exact_allow_allows() {
        let p =
            policy(json!([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ARN}]));
        assert!(p.allows(ARN));
        assert!(!p.allows(&ARN.replace("GET", "PUT")));
    }

    #[test]
    fn star_matches_any_run_including_slashes() {
        let p = policy(json!([{"Effect": "Allow", "Action": ["execute-api:*"],
            "Resource": ["arn:aws:execute-api:us-east-1:000000000000:api1/Prod/*"]}]));
        assert!(p.allows(ARN));
        assert!(p.allows("arn:aws:execute-api:us-east-1:000000000000:api1/Prod/DELETE/users/a/b"));
        assert!(!p.allows("arn:aws:execute-api:us-east-1:000000000000:api1/Dev/GET/users"));
        let everything = policy(json!({"Effect": "Allow", "Action": "*", "Resource": "*"}));
        assert!(everything.allows(ARN));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        let p = policy(json!([{"Effect": "Allow", "Action": "execute-api:Invoke",
            "Resource": "arn:aws:execute-api:us-east-1:000000000000:api1/Prod/GET/users/u-?"}]));
        assert!(p.allows(ARN));
        assert!(!p.allows(&format!("{ARN}0")));
        assert!(!p.allows(ARN.trim_end_matches("-1")));
    }

    #[test]
    fn an_explicit_deny_wins_over_any_allow() {
        let p = policy(json!([
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
            {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:api1/Prod/GET/users/*"},
        ]));
        assert!(!p.allows(ARN));
        assert!(p.allows("arn:aws:execute-api:us-east-1:000000000000:api1/Prod/GET/users"));
    }

    #[test]
    fn nothing_matching_is_an_implicit_deny() {
        assert!(!policy(json!([])).allows(ARN));
        let other_action = policy(
            json!([{"Effect": "Allow", "Action": "execute-api:ManageConnections", "Resource": "*"}]),
        );
        assert!(!other_action.allows(ARN));
    }

    #[test]
    fn actions_ignore_case_but_resources_do_not() {
        let p = policy(
            json!([{"Effect": "allow", "Action": "EXECUTE-API:invoke", "Resource": ARN.to_uppercase()}]),
        );
        assert!(!p.allows(ARN));
        let p =
            policy(json!([{"Effect": "Allow", "Action": "Execute-Api:Invoke", "Resource": ARN}]));
        assert!(p.allows(ARN));
    }

    #[test]
    fn statements_with_conditions_never_apply() {
        let p =
            policy(json!([{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {}}]));
        assert!(!p.allows(ARN));
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert_eq!(Policy::parse(&json!({})), Err(PolicyError::NoStatements));
        assert_eq!(
            Policy::parse(
                &json!({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]})
            ),
            Err(PolicyError::Effect(0))
        );
        assert!(
            Policy::parse(
                &json!({"Statement": [{"Effect": "Allow", "Action": 1, "Resource": "*"}]})
            )
            .is_err()
        );
    }

    #[test]
    fn wildcards_backtrack() {
        assert!(wildcard_match("a*b*c", "axxbyybzc", false));
        assert!(!wildcard_match("a*b*c", "axxbyyb", false));
        assert!(wildcard_match("**", "", false));
        assert!(!wildcard_match("?", "", false));
        assert!(wildcard_match("é?", "éß", false));
    }
}
