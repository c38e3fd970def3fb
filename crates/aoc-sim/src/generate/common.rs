//! Small pieces shared by the record builders.

use serde_json::{Value, json};

use crate::rng::Rng;

/// A client address from the documentation ranges (RFC 5737 / RFC 3849), never a real host.
pub(crate) fn client_ip(r: &mut Rng) -> String {
    match r.below(10) {
        0..=3 => format!("203.0.113.{}", 1 + r.below(254)),
        4..=5 => format!("198.51.100.{}", 1 + r.below(254)),
        6..=7 => format!("192.0.2.{}", 1 + r.below(254)),
        _ => format!("2001:db8:{:x}::{:x}", r.below(0xffff), 1 + r.below(0xfffe)),
    }
}

pub(crate) const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17726; Pro)",
    "PowerShell/7.4.2 Microsoft.Graph.Authentication/2.19.0",
    "Microsoft SkyDriveSync 24.101.0519.0010 ship; Windows NT 10.0 (22631)",
];

/// `[value]` encoded as a JSON string, which is how Entra writes most `oldValue`/`newValue`s.
pub(crate) fn json_array_string(v: Value) -> Value {
    Value::String(Value::Array(vec![v]).to_string())
}

/// A value encoded as a JSON string (`"\"Finance Team\""`).
pub(crate) fn json_string(v: Value) -> Value {
    Value::String(v.to_string())
}

/// Graph `modifiedProperty`.
pub(crate) fn modified(name: &str, old: Value, new: Value) -> Value {
    json!({ "displayName": name, "oldValue": old, "newValue": new })
}

/// The Management Activity API's AAD records pretty-print arrays with CRLF line breaks.
pub(crate) fn crlf_array(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        other => format!("[\r\n  {other}\r\n]"),
    }
}

/// Conversion into a JSON value without going through `serde::Serialize`: owned strings move
/// in instead of being cloned, which is most of the cost of building millions of records.
pub(crate) trait IntoJson {
    fn into_json(self) -> Value;
}

impl IntoJson for Value {
    fn into_json(self) -> Value {
        self
    }
}
impl IntoJson for String {
    fn into_json(self) -> Value {
        Value::String(self)
    }
}
impl IntoJson for &str {
    fn into_json(self) -> Value {
        Value::String(self.to_string())
    }
}
/// Borrowed fields are cloned, as `json!` would.
impl<T: IntoJson + Clone> IntoJson for &T {
    fn into_json(self) -> Value {
        self.clone().into_json()
    }
}
impl IntoJson for bool {
    fn into_json(self) -> Value {
        Value::Bool(self)
    }
}
impl IntoJson for i64 {
    fn into_json(self) -> Value {
        Value::from(self)
    }
}
impl IntoJson for u8 {
    fn into_json(self) -> Value {
        Value::from(self)
    }
}
impl IntoJson for i32 {
    fn into_json(self) -> Value {
        Value::from(self)
    }
}
impl IntoJson for u64 {
    fn into_json(self) -> Value {
        Value::from(self)
    }
}
impl<T: IntoJson> IntoJson for Vec<T> {
    fn into_json(self) -> Value {
        Value::Array(self.into_iter().map(IntoJson::into_json).collect())
    }
}
impl<T: IntoJson> IntoJson for Option<T> {
    fn into_json(self) -> Value {
        self.map_or(Value::Null, IntoJson::into_json)
    }
}

/// A JSON object from `"key" => value` pairs, sized up front.
macro_rules! obj {
    ($($k:literal => $v:expr),* $(,)?) => {{
        let mut m = serde_json::Map::with_capacity([$($k),*].len());
        $( m.insert(String::from($k), $crate::generate::common::IntoJson::into_json($v)); )*
        serde_json::Value::Object(m)
    }};
}
pub(crate) use obj;
