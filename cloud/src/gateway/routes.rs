//! Route matching as API Gateway REST APIs do it.
//!
//! An API is a tree of resources (paths) with methods on them. A request path picks the
//! resource whose segments match, preferring at each segment a literal over a `{param}` and
//! a `{param}` over a greedy `{param+}`; then the method picks the route. A path no resource
//! matches, and a resource without the request's method, are both answered by API Gateway
//! with 403 `Missing Authentication Token`, so [`Table::find`] does not tell them apart;
//! [`Table::methods`] gives a matched resource's methods, for the generated CORS preflight.
//!
//! Path parameter values are percent-decoded; the raw path stays as sent (REST APIs hand
//! `path` to the function still encoded).

use std::collections::BTreeMap;

use stackgen::model::{Method, RouteSpec, Segment};

/// Routes of one API, for matching.
#[derive(Debug)]
pub struct Table<T> {
    resources: Vec<Resource<T>>,
}

#[derive(Debug)]
struct Resource<T> {
    segments: Vec<Segment>,
    methods: Vec<(Method, T)>,
}

/// A route that matched a request.
#[derive(Debug)]
pub struct Matched<'a, T> {
    /// What the route was registered with.
    pub route: &'a T,
    /// Path parameters by name, percent-decoded.
    pub params: BTreeMap<String, String>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self {
            resources: Vec::new(),
        }
    }
}

impl<T> Table<T> {
    /// Adds a route. A second route with the same method and path shape replaces nothing:
    /// the first one wins (the model's checks reject duplicates anyway).
    pub fn insert(&mut self, spec: &RouteSpec, value: T) {
        let found = self
            .resources
            .iter_mut()
            .find(|r| same_shape(&r.segments, &spec.segments));
        let resource = match found {
            Some(r) => r,
            None => {
                self.resources.push(Resource {
                    segments: spec.segments.clone(),
                    methods: Vec::new(),
                });
                let last = self.resources.len() - 1;
                &mut self.resources[last]
            }
        };
        if !resource.methods.iter().any(|(m, _)| *m == spec.method) {
            resource.methods.push((spec.method, value));
        }
    }

    /// The route for `method` on `path` (the part after the stage, starting with `/`).
    pub fn find(&self, method: &str, path: &str) -> Option<Matched<'_, T>> {
        let (resource, parts) = self.resource(path)?;
        let route = resource
            .methods
            .iter()
            .find(|(m, _)| m.as_str() == method)
            .map(|(_, v)| v)?;
        let mut params = BTreeMap::new();
        for (i, segment) in resource.segments.iter().enumerate() {
            if let Segment::Param { name, greedy } = segment {
                let raw = if *greedy {
                    parts[i..].join("/")
                } else {
                    parts[i].to_owned()
                };
                params.insert(name.clone(), percent_decode(&raw, false));
            }
        }
        Some(Matched { route, params })
    }

    /// The methods of the resource `path` matches, in the order they were added; `None` when
    /// no resource matches. A CORS preflight answers with them.
    pub fn methods(&self, path: &str) -> Option<impl Iterator<Item = Method> + '_> {
        let (resource, _) = self.resource(path)?;
        Some(resource.methods.iter().map(|(m, _)| *m))
    }

    /// The resource that matches `path` best, and the path's segments.
    fn resource<'p>(&self, path: &'p str) -> Option<(&Resource<T>, Vec<&'p str>)> {
        let trimmed = path
            .strip_suffix('/')
            .filter(|p| !p.is_empty())
            .unwrap_or(path);
        let parts: Vec<&str> = if trimmed == "/" || trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.strip_prefix('/')?.split('/').collect()
        };
        let mut best: Option<(Vec<u8>, &Resource<T>)> = None;
        for resource in &self.resources {
            if let Some(rank) = rank(&resource.segments, &parts)
                && best.as_ref().is_none_or(|(b, _)| rank > *b)
            {
                best = Some((rank, resource));
            }
        }
        best.map(|(_, resource)| (resource, parts))
    }
}

fn same_shape(a: &[Segment], b: &[Segment]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Segment::Literal(x), Segment::Literal(y)) => x == y,
            (Segment::Param { greedy: g, .. }, Segment::Param { greedy: h, .. }) => g == h,
            _ => false,
        })
}

/// How well `segments` matches `parts`, per segment 3 (literal), 2 (param), 1 (greedy);
/// `None` when it does not match. Higher ranks compare greater, segment by segment.
fn rank(segments: &[Segment], parts: &[&str]) -> Option<Vec<u8>> {
    let mut rank = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Literal(l) => {
                if parts.get(i) != Some(&l.as_str()) {
                    return None;
                }
                rank.push(3);
            }
            Segment::Param { greedy: false, .. } => {
                if parts.get(i).is_none_or(|p| p.is_empty()) {
                    return None;
                }
                rank.push(2);
            }
            Segment::Param { greedy: true, .. } => {
                if parts.len() <= i || parts[i..].iter().all(|p| p.is_empty()) {
                    return None;
                }
                rank.push(1);
                return Some(rank);
            }
        }
    }
    (parts.len() == segments.len()).then_some(rank)
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`); malformed escapes stay as
/// they are, and bytes that are not UTF-8 become U+FFFD.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    if !(s.contains('%') || plus_is_space && s.contains('+')) {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[&str]) -> Table<String> {
        let mut t = Table::default();
        for r in routes {
            t.insert(&RouteSpec::parse(r).unwrap(), r.to_string());
        }
        t
    }

    #[test]
    fn a_path_parameter_is_captured_and_decoded() {
        let t = table(&["GET /users", "GET /users/{userid}"]);
        let m = t.find("GET", "/users/a%20b%2Fc").unwrap();
        assert_eq!(m.route, "GET /users/{userid}");
        assert_eq!(m.params["userid"], "a b/c");
        assert_eq!(t.find("GET", "/users").unwrap().route, "GET /users");
        assert!(t.find("GET", "/users").unwrap().params.is_empty());
    }

    #[test]
    fn a_literal_segment_wins_over_a_parameter() {
        let t = table(&[
            "GET /orders/{orderId}",
            "GET /orders/latest",
            "GET /{proxy+}",
        ]);
        assert_eq!(
            t.find("GET", "/orders/latest").unwrap().route,
            "GET /orders/latest"
        );
        assert_eq!(
            t.find("GET", "/orders/42").unwrap().route,
            "GET /orders/{orderId}"
        );
        let greedy = t.find("GET", "/orders/42/items").unwrap();
        assert_eq!(greedy.route, "GET /{proxy+}");
        assert_eq!(greedy.params["proxy"], "orders/42/items");
    }

    #[test]
    fn unknown_paths_and_methods_do_not_match() {
        let t = table(&["GET /users/{userid}", "DELETE /users/{userid}"]);
        assert!(t.find("GET", "/users").is_none());
        assert!(t.find("GET", "/users/a/b").is_none());
        assert!(t.find("POST", "/users/a").is_none());
        assert!(t.find("GET", "/nope").is_none());
        assert!(t.find("GET", "/users//").is_none());
        assert_eq!(
            t.find("DELETE", "/users/a").unwrap().route,
            "DELETE /users/{userid}"
        );
    }

    #[test]
    fn the_methods_of_the_matched_resource_are_listed() {
        let t = table(&[
            "GET /users/{userid}",
            "DELETE /users/{userid}",
            "GET /users",
        ]);
        let methods: Vec<Method> = t.methods("/users/a").unwrap().collect();
        assert_eq!(methods, [Method::Get, Method::Delete]);
        assert_eq!(
            t.methods("/users/").unwrap().collect::<Vec<_>>(),
            [Method::Get]
        );
        assert!(t.methods("/users/a/b").is_none());
        assert!(t.methods("/nope").is_none());
    }

    #[test]
    fn a_trailing_slash_is_ignored_and_the_root_matches() {
        let t = table(&["GET /", "GET /users"]);
        assert_eq!(t.find("GET", "/users/").unwrap().route, "GET /users");
        assert_eq!(t.find("GET", "/").unwrap().route, "GET /");
    }

    #[test]
    fn percent_decoding_keeps_malformed_escapes() {
        assert_eq!(percent_decode("a%2", false), "a%2");
        assert_eq!(percent_decode("%zz%41", false), "%zzA");
        assert_eq!(percent_decode("a+b%2B", true), "a b+");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("%C3%A9%FF", false), "é\u{fffd}");
    }
}
