//! Schemas that only describe request fields in the OpenAPI document: the closed value sets the
//! validators accept, and the digit codes that may be sent as a JSON number or a string. The
//! handlers still read these fields as strings and check them with the domain validators; the
//! document says what those validators accept so clients (and fuzzers) can send valid input.

use utoipa::{
    PartialSchema, ToSchema,
    openapi::{
        KnownFormat, ObjectBuilder, OneOfBuilder, RefOr, Schema, SchemaFormat, Type,
        schema::SchemaType,
    },
};

/// A host's role (`role` of `host/create` and `host/update`).
#[allow(clippy::upper_case_acronyms, non_camel_case_types, dead_code)]
#[derive(ToSchema)]
pub enum RoleName {
    HOST,
    COMPANY_ADMIN,
    /// Only for hosts of the reseller's admin company.
    RESELLER_ADMIN,
}

/// How guests may use their microphones: everyone may talk (`conversation`); guests join muted but
/// may unmute (`presentation`); only moderators may unmute guests (`lecture`). Case-insensitive.
#[allow(non_camel_case_types, dead_code)]
#[derive(ToSchema)]
pub enum MuteMode {
    conversation,
    presentation,
    lecture,
}

/// Whether a conference is recorded from its start (`cloud`) or not (`none`). Case-insensitive.
#[allow(non_camel_case_types, dead_code)]
#[derive(ToSchema)]
pub enum AutoRecord {
    none,
    cloud,
}

/// A string schema with a closed set of values.
fn string_enum<'a>(values: impl IntoIterator<Item = &'a str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .into()
}

/// Which conferences `conference/list` returns: `upcoming` (not ended, soonest first), `past`
/// (ended, latest first) or `all` (the default, also for `""`).
pub struct ConferenceFilter;

impl PartialSchema for ConferenceFilter {
    fn schema() -> RefOr<Schema> {
        string_enum(["upcoming", "past", "all", ""])
    }
}

impl ToSchema for ConferenceFilter {}

/// An IANA time zone name (`Europe/London`), as the time zone database spells it.
pub struct TimeZoneName;

impl PartialSchema for TimeZoneName {
    fn schema() -> RefOr<Schema> {
        string_enum(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()))
    }
}

impl ToSchema for TimeZoneName {}

/// A built-in theme by name; `""` clears it (the layer inherits again).
pub struct BaseTheme;

impl PartialSchema for BaseTheme {
    fn schema() -> RefOr<Schema> {
        let mut names = crate::tenancy::themes::builtin::names();
        names.push("");
        string_enum(names)
    }
}

impl ToSchema for BaseTheme {}

/// A meeting control a company may hide, by the name of the embedding `hideButtons` option
/// (case-insensitive).
pub struct MeetingControl;

impl PartialSchema for MeetingControl {
    fn schema() -> RefOr<Schema> {
        string_enum(crate::tenancy::companies::CONTROLS.iter().copied())
    }
}

impl ToSchema for MeetingControl {}

/// A digit code sent as a string of `min`–`max` digits (or `""` when `empty_clears`), or as a JSON
/// number with that many digits; `null` or absent: not given.
fn digit_code(min: u32, max: u32, empty_clears: bool) -> Schema {
    let digits = if empty_clears {
        format!("^([0-9]{{{min},{max}}})?$")
    } else {
        format!("^[0-9]{{{min},{max}}}$")
    };
    let as_string = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(digits))
        .max_length(Some(max as usize));
    let as_number = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(10f64.powi(min as i32 - 1)))
        .maximum(Some(10f64.powi(max as i32) - 1.0));
    OneOfBuilder::new()
        .item(as_string)
        .item(as_number)
        .item(ObjectBuilder::new().schema_type(SchemaType::Type(Type::Null)))
        .into()
}

/// `one_time_access_code` in answers: the conference's own code as a number (a string if it does
/// not fit one), or `false` when the host's personal room is used.
pub fn one_time_access_code() -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        )
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .enum_values(Some([false])),
        )
        .into()
}

/// `access_code`: 4–12 digits, unique in the reseller.
pub fn access_code() -> Schema {
    digit_code(4, 12, false)
}

/// `moderator_pin`: 6–12 digits.
pub fn moderator_pin() -> Schema {
    digit_code(6, 12, false)
}

/// `security_pin`: 6–12 digits; `""` means no PIN.
pub fn security_pin() -> Schema {
    digit_code(6, 12, true)
}
