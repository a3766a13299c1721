"""Evaluates API Gateway mapping templates (VTL) the way API Gateway does, for tests.

The Velocity engine is airspeed-ext; `$input`, `$util` and `$context` are stand-ins that
behave as API Gateway documents them. Reads one JSON document on stdin:

    {"cases": [{"template": "...",          # the mapping template, `Fn::Sub` already applied
                "body": "...",              # the raw request body (text), or null
                "params": {"path": {}, "querystring": {}, "header": {}},
                "context": {...},           # $context, e.g. {"authorizer": {"claims": {"sub": ...}}}
                "form": false}]}            # true: also decode the output as a form body

and writes {"results": [...]} with, per case, {"output": "..."} (plus "form": [[name,
value], ...] when asked) or {"error": "..."}. The form body is decoded with
urllib.parse.parse_qsl (strict, UTF-8, `+` is a space), in order, duplicates kept.

A case may instead stand for the service's answer to an integration request:

    {"responses": {...},     # the integration's `responses`, as rendered: selection
                             # pattern (or "default") -> {"statusCode", "responseTemplates"}
     "status": 400,          # the service's HTTP status
     "body": "...",          # the service's response body
     "context": {...}}

API Gateway's choice is made as it documents it: the response whose selection pattern
matches the whole status, else the default; its application/json template runs with the
service's body as `$input`, and `$context.responseOverride.status` overrides its status.
The result is {"status": 400, "output": "..."}.
"""

import base64
import json
import re
import sys
import traceback
import urllib.parse

try:
    import airspeed
    from airspeed import operators
except ImportError:
    sys.exit(f"airspeed-ext is not installed for {sys.executable}: run scripts/setup.sh")

# --- $util ------------------------------------------------------------------------------


def escape_javascript(s):
    """Apache Commons Lang 2 `StringEscapeUtils.escapeJavaScript`, which API Gateway uses.

    Works on UTF-16 code units as Java does: a character above U+FFFF becomes a surrogate
    pair `\\uD83D\\uDE00`. Above 0x7f: `\\uXXXX` in upper-case hex; below 0x20: `\\b \\t \\n
    \\f \\r` or `\\u00XX`; `'` `"` `\\` `/` get a backslash; everything else (DEL too) as is.
    """
    if s is None:
        return None
    if not isinstance(s, str):
        raise TypeError(f"escapeJavaScript takes a String, got {type(s).__name__}: {s!r}")
    units = s.encode("utf-16-le", "surrogatepass")
    out = []
    for i in range(0, len(units), 2):
        ch = units[i] | (units[i + 1] << 8)
        if ch > 0x7F:
            out.append("\\u%04X" % ch)
        elif ch < 0x20:
            short = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}
            out.append(short.get(ch, "\\u%04X" % ch))
        elif chr(ch) in "'\"\\/":
            out.append("\\" + chr(ch))
        else:
            out.append(chr(ch))
    return "".join(out)


def url_encode(s):
    """Java's `URLEncoder.encode(s, "UTF-8")`: letters, digits and `.-*_` stay, a space is
    `+`, every other byte of the UTF-8 encoding is `%XX` (upper-case hex)."""
    if s is None:
        return None
    if not isinstance(s, str):
        raise TypeError(f"urlEncode takes a String, got {type(s).__name__}: {s!r}")
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in ".-*_"):
            out.append(c)
        elif c == " ":
            out.append("+")
        else:
            out.append("%%%02X" % b)
    return "".join(out)


class Util:
    def escapeJavaScript(self, s):  # noqa: N802 (API Gateway's name)
        return escape_javascript(s)

    def urlEncode(self, s):  # noqa: N802
        return url_encode(s)

    def urlDecode(self, s):  # noqa: N802
        return urllib.parse.unquote_plus(s, errors="strict")

    def base64Encode(self, s):  # noqa: N802
        return base64.b64encode(s.encode("utf-8")).decode("ascii")

    def base64Decode(self, s):  # noqa: N802
        return base64.b64decode(s).decode("utf-8")

    def parseJson(self, s):  # noqa: N802
        return json.loads(s)


# --- Java's String.replaceAll ------------------------------------------------------------


def java_replace_all(self, pattern, replacement):
    """`String.replaceAll(regex, replacement)`: the regex as Python reads it (the same for
    the simple patterns mapping templates use), the replacement with Java's rules: `$n` is
    group n, a backslash takes the next character literally."""
    out = []
    i = 0
    while i < len(replacement):
        c = replacement[i]
        if c == "\\":
            out.append(("lit", replacement[i + 1]))
            i += 2
        elif c == "$":
            m = re.match(r"\d+", replacement[i + 1 :])
            if not m:
                raise ValueError(f"illegal group reference in {replacement!r}")
            out.append(("group", int(m.group(0))))
            i += 1 + len(m.group(0))
        else:
            out.append(("lit", c))
            i += 1

    def expand(match):
        return "".join(v if kind == "lit" else (match.group(v) or "") for kind, v in out)

    return re.sub(pattern, expand, self)


operators.__additional_methods__[str]["replaceAll"] = java_replace_all


def java_matches(self, pattern):
    """`String.matches(regex)`: the whole string matches (the regex as Python reads it, the
    same for the anchored patterns of path parameters: classes, `\\uXXXX`, look-ahead)."""
    return re.fullmatch(pattern, self) is not None


operators.__additional_methods__[str]["matches"] = java_matches

# --- $input -------------------------------------------------------------------------------

MISSING = object()


def json_path(document, path):
    """The JSONPath subset mapping templates use: `$`, `$.a.b`, `$['a']`, `$.a[0]`."""
    if not path.startswith("$"):
        raise ValueError(f"unsupported JSONPath {path!r}")
    value = document
    rest = path[1:]
    token = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
    while rest:
        m = token.match(rest)
        if not m:
            raise ValueError(f"unsupported JSONPath {path!r}")
        name, index, quoted, dquoted = m.groups()
        key = name or quoted or dquoted
        if index is not None:
            if not isinstance(value, list) or int(index) >= len(value):
                return MISSING
            value = value[int(index)]
        else:
            if not isinstance(value, dict) or key not in value:
                return MISSING
            value = value[key]
        rest = rest[m.end() :]
    return value


class Input:
    def __init__(self, body, params):
        self.body = body if body is not None else ""
        self._params = {
            "path": dict(params.get("path", {})),
            "querystring": dict(params.get("querystring", {})),
            "header": dict(params.get("header", {})),
        }
        self._document = MISSING
        if body:
            try:
                self._document = json.loads(body)
            except ValueError:
                self._document = MISSING

    def _lookup(self, path):
        if self._document is MISSING:
            return MISSING
        return json_path(self._document, path)

    def path(self, p):
        """The value at `p` as an object: a string stays a string, a number a number."""
        value = self._lookup(p)
        return None if value is MISSING else value

    def json(self, p):
        """The value at `p` as JSON text."""
        value = self._lookup(p)
        if value is MISSING:
            return None
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def params(self, name=None):
        """All parameters (`.path`, `.querystring`, `.header`), or one by name, searched in
        that order."""
        if name is None:
            return self._params
        for kind in ("path", "querystring", "header"):
            if name in self._params[kind]:
                return self._params[kind][name]
        return None


# --- main ---------------------------------------------------------------------------------


def evaluate(case):
    namespace = {
        "input": Input(case.get("body"), case.get("params", {})),
        "util": Util(),
        "context": case.get("context", {}),
    }
    output = airspeed.Template(case["template"]).merge(namespace)
    result = {"output": output}
    if case.get("form"):
        result["form"] = [
            list(pair)
            for pair in urllib.parse.parse_qsl(
                output,
                keep_blank_values=True,
                strict_parsing=True,
                encoding="utf-8",
                errors="strict",
            )
        ]
    return result


def integration_response(case):
    responses = case["responses"]
    status = str(case["status"])
    matching = [p for p in responses if p != "default" and re.fullmatch(p, status)]
    if len(matching) > 1:
        raise ValueError(f"status {status} matches several selection patterns: {matching}")
    chosen = responses[matching[0]] if matching else responses.get("default")
    if chosen is None:
        raise ValueError(f"no integration response for status {status}")
    context = dict(case.get("context", {}))
    context["responseOverride"] = {}
    namespace = {
        "input": Input(case.get("body"), {}),
        "util": Util(),
        "context": context,
    }
    template = chosen.get("responseTemplates", {}).get("application/json", "")
    output = airspeed.Template(template).merge(namespace)
    answered = context["responseOverride"].get("status", chosen["statusCode"])
    return {"status": int(answered), "output": output}


def main():
    request = json.load(sys.stdin)
    results = []
    for case in request["cases"]:
        try:
            if "responses" in case:
                results.append(integration_response(case))
            else:
                results.append(evaluate(case))
        except Exception:  # reported per case, so one bad case does not hide the others
            results.append({"error": traceback.format_exc()})
    json.dump({"results": results}, sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
