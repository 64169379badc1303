//! OpenAPI links: which answer fields feed which later calls (the id `company/create` returns is
//! the `company_id` of `company/get`...). Clients read them as documentation; test generators
//! follow them to chain calls on objects that exist.

use serde_json::{Map, Value, json};
use utoipa::{
    Modify,
    openapi::{RefOr, link::LinkBuilder},
};

/// `(source operation, target operation, body fields of the target and where they come from)`.
type LinkRow = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const COMPANY: &[(&str, &str)] = &[("company_id", "$response.body#/id")];
const HOST: &[(&str, &str)] = &[("host_id", "$response.body#/host_id")];
const CONFERENCE: &[(&str, &str)] = &[("conference_id", "$response.body#/conference_id")];

const LINKS: &[LinkRow] = &[
    ("company_create", "company_get", COMPANY),
    ("company_create", "company_update", COMPANY),
    ("company_create", "company_delete", COMPANY),
    ("company_create", "company_sso_secret_reset", COMPANY),
    ("company_create", "company_openid_get", COMPANY),
    ("company_create", "company_openid_set", COMPANY),
    ("company_create", "domain_list", COMPANY),
    ("company_create", "domain_add", COMPANY),
    (
        "company_create",
        "domain_set_primary",
        &[
            ("company_id", "$response.body#/id"),
            ("domain", "$response.body#/domain"),
        ],
    ),
    ("company_create", "theme_get", COMPANY),
    ("company_create", "theme_update", COMPANY),
    ("company_create", "host_create", COMPANY),
    ("company_create", "host_list", COMPANY),
    ("company_create", "conference_list", COMPANY),
    (
        "company_openid_set",
        "company_openid_get",
        &[("company_id", "$response.body#/company_id")],
    ),
    (
        "company_openid_set",
        "company_openid_delete",
        &[("company_id", "$response.body#/company_id")],
    ),
    ("host_create", "host_get", HOST),
    ("host_create", "host_update", HOST),
    ("host_create", "host_delete", HOST),
    ("host_create", "host_reset_login_token", HOST),
    ("host_create", "conference_create", HOST),
    ("host_create", "conference_list", HOST),
    ("conference_create", "conference_get", CONFERENCE),
    ("conference_create", "conference_update", CONFERENCE),
    ("conference_create", "conference_delete", CONFERENCE),
    (
        "api_token_create",
        "api_token_revoke",
        &[("api_token_id", "$response.body#/id")],
    ),
    (
        "domain_add",
        "domain_set_primary",
        &[
            ("company_id", "$request.body#/company_id"),
            ("domain", "$response.body#/domain"),
        ],
    ),
    (
        "domain_add",
        "domain_delete",
        &[
            ("company_id", "$request.body#/company_id"),
            ("domain", "$response.body#/domain"),
        ],
    ),
];

/// Adds [`LINKS`] to the `200` answers of their source operations.
pub struct Links;

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let Some(operation) = item.post.as_mut() else {
                continue;
            };
            let Some(source) = operation.operation_id.clone() else {
                continue;
            };
            let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200") else {
                continue;
            };
            for (_, target, fields) in LINKS.iter().filter(|(from, ..)| *from == source) {
                let body: Map<String, Value> = fields
                    .iter()
                    .map(|(field, expression)| (field.to_string(), json!(expression)))
                    .collect();
                let link = LinkBuilder::new()
                    .operation_id(*target)
                    .request_body(Some(Value::Object(body)))
                    .build();
                ok.links.insert((*target).to_string(), RefOr::T(link));
            }
        }
    }
}

/// Renames the fields of the serialized links to the names OpenAPI gives them (`operationId`,
/// `requestBody`): utoipa writes them in snake case.
pub fn camel_case_links(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let responses = paths
        .values_mut()
        .filter_map(|item| item.get_mut("post")?.get_mut("responses")?.as_object_mut());
    for response in responses.flat_map(|r| r.values_mut()) {
        let Some(links) = response.get_mut("links").and_then(Value::as_object_mut) else {
            continue;
        };
        for link in links.values_mut().filter_map(Value::as_object_mut) {
            for (snake, camel) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(value) = link.remove(snake) {
                    link.insert(camel.to_string(), value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    use super::{LINKS, camel_case_links};

    #[test]
    fn links_name_documented_operations() {
        let doc = crate::api::openapi::ApiDoc::openapi();
        let ids: Vec<String> = doc
            .paths
            .paths
            .values()
            .filter_map(|item| item.post.as_ref()?.operation_id.clone())
            .collect();
        for (source, target, _) in LINKS {
            assert!(ids.iter().any(|id| id == source), "{source}");
            assert!(ids.iter().any(|id| id == target), "{target}");
        }
    }

    #[test]
    fn served_links_use_the_openapi_field_names() {
        let mut doc = serde_json::to_value(crate::api::openapi::ApiDoc::openapi()).unwrap();
        camel_case_links(&mut doc);
        let link = &doc["paths"]["/enterprise_api/host/create"]["post"]["responses"]["200"]["links"]
            ["host_get"];
        assert_eq!(link["operationId"], "host_get");
        assert_eq!(link["requestBody"]["host_id"], "$response.body#/host_id");
        assert!(link.get("operation_id").is_none());
    }
}
