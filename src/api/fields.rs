//! Field types shared by API requests and responses.

use serde::{Deserialize, Deserializer, Serialize, de};
use utoipa::ToSchema;

use crate::{
    error::{AppError, AppResult},
    store::PageRequest,
};

/// A numeric code as the seed returns it: `{"number": "1234567"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct NumberObject {
    pub number: String,
}

impl NumberObject {
    pub fn new(number: &str) -> Self {
        Self {
            number: number.to_string(),
        }
    }
}

/// Accepts a code given as a JSON number (`1234567`) or string (`"0012345"`).
pub fn code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct CodeVisitor;
    impl de::Visitor<'_> for CodeVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("digits, as a number or a string")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            if v < 0 {
                return Err(E::custom("must not be negative"));
            }
            Ok(Some(v.to_string()))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(CodeVisitor)
}

/// `limit` (1–200, default 50) and `offset` (default 0) of list methods.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct Paging {
    #[schema(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    #[schema(minimum = 0)]
    pub offset: Option<i64>,
}

impl Paging {
    /// Validated page bounds.
    pub fn page(&self) -> AppResult<PageRequest> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(AppError::invalid_field(
                "limit",
                "must be between 1 and 200",
            ));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(AppError::invalid_field("offset", "must not be negative"));
        }
        Ok(PageRequest { limit, offset })
    }
}

/// Unix seconds as RFC 3339 UTC (`2026-11-25T10:00:00Z`).
pub fn timestamp(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Answer of methods with nothing else to say.
#[derive(Serialize, ToSchema)]
pub struct MessageOnly {
    pub message: String,
}

/// Answer of delete and revoke methods.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    pub id: i64,
    pub deleted: bool,
    pub message: String,
}

/// Rejects ids that cannot exist (ids start at 1).
pub fn id(field: &str, value: i64) -> AppResult<i64> {
    if value < 1 {
        return Err(AppError::invalid_field(field, "must be a positive integer"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct WithCode {
        #[serde(default, deserialize_with = "code")]
        access_code: Option<String>,
    }

    #[test]
    fn codes_accept_numbers_and_strings() {
        let parse = |json: &str| serde_json::from_str::<WithCode>(json).map(|w| w.access_code);
        assert_eq!(
            parse(r#"{"access_code": 1234567}"#).unwrap().as_deref(),
            Some("1234567")
        );
        assert_eq!(
            parse(r#"{"access_code": "0012345"}"#).unwrap().as_deref(),
            Some("0012345")
        );
        assert_eq!(parse(r#"{}"#).unwrap(), None);
        assert!(parse(r#"{"access_code": [1]}"#).is_err());
        assert!(parse(r#"{"access_code": -5}"#).is_err());
    }

    #[test]
    fn paging_bounds() {
        assert!(
            Paging {
                limit: Some(0),
                offset: None
            }
            .page()
            .is_err()
        );
        assert!(
            Paging {
                limit: None,
                offset: Some(-1)
            }
            .page()
            .is_err()
        );
        assert_eq!(Paging::default().page().unwrap().limit, 50);
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
    }
}
