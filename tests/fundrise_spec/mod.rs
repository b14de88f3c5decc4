//! The official Fundrise Connect OpenAPI spec, loaded for tests: JSON Schema validators
//! for request and response bodies (the spec's own schemas, `$ref`s resolved against
//! the spec — nothing copied by hand) and the spec's example payloads.
//!
//! The YAML is a verbatim copy of `shared/specs/fundrise-connect-openapi.yml`, kept
//! beside the tests so they run wherever the repository is checked out.
#![allow(dead_code)]

use serde_json::{json, Value};

const SPEC_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/fundrise-connect-openapi.yml"
);

pub struct Spec {
    doc: Value,
}

impl Spec {
    pub fn load() -> Spec {
        let text = std::fs::read_to_string(SPEC_PATH).expect("the OpenAPI spec fixture exists");
        let doc: Value = serde_norway::from_str(&text).expect("the spec is valid YAML");
        assert_eq!(doc["openapi"], "3.1.0");
        Spec { doc }
    }

    /// The operation object at `path` (`/v1/offerings`) and `method` (`get`).
    pub fn operation(&self, path: &str, method: &str) -> &Value {
        let operation = &self.doc["paths"][path][method];
        assert!(operation.is_object(), "the spec has no {method} {path}");
        operation
    }

    /// The request body schema of an operation.
    pub fn request_schema(&self, path: &str, method: &str) -> Value {
        self.operation(path, method)["requestBody"]["content"]["application/json"]["schema"].clone()
    }

    /// The response body schema of an operation for a status ("200", "400", …).
    pub fn response_schema(&self, path: &str, method: &str, status: &str) -> Value {
        let response = &self.operation(path, method)["responses"][status];
        let response = self.follow(response);
        response["content"]["application/json"]["schema"].clone()
    }

    /// A named component schema (`InvestmentPlacementRequest`).
    pub fn component(&self, name: &str) -> Value {
        let schema = self.doc["components"]["schemas"][name].clone();
        assert!(schema.is_object(), "the spec has no schema {name}");
        schema
    }

    /// A validator for `schema`, whose `#/components/...` references resolve against
    /// the spec.
    pub fn validator(&self, schema: &Value) -> jsonschema::Validator {
        let root = json!({
            "$ref": "#/$defs/target",
            "$defs": { "target": schema },
            "components": self.doc["components"],
        });
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&root)
            .expect("the spec's schema compiles")
    }

    /// Panics with every problem when `instance` does not satisfy `schema`.
    pub fn assert_valid(&self, schema: &Value, instance: &Value, what: &str) {
        let validator = self.validator(schema);
        let problems: Vec<String> = validator
            .iter_errors(instance)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        assert!(
            problems.is_empty(),
            "{what} does not satisfy the spec:\n{}\n{instance:#}",
            problems.join("\n")
        );
    }

    /// True when `instance` satisfies `schema`.
    pub fn is_valid(&self, schema: &Value, instance: &Value) -> bool {
        self.validator(schema).is_valid(instance)
    }

    /// The property names a schema (after its `$ref`s) declares.
    pub fn properties(&self, schema: &Value) -> Vec<String> {
        let schema = self.follow(schema);
        schema["properties"]
            .as_object()
            .map(|properties| properties.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Every example payload the spec gives for a response (`example`, and each
    /// `examples.*.value`).
    pub fn response_examples(&self, path: &str, method: &str, status: &str) -> Vec<Value> {
        let response = self.follow(&self.operation(path, method)["responses"][status]);
        examples(&response["content"]["application/json"])
    }

    /// Every example payload the spec gives for a request body.
    pub fn request_examples(&self, path: &str, method: &str) -> Vec<Value> {
        examples(&self.operation(path, method)["requestBody"]["content"]["application/json"])
    }

    /// Follows a local `$ref` chain (`#/components/...`) to the object it names.
    pub fn follow<'a>(&'a self, value: &'a Value) -> &'a Value {
        let mut current = value;
        while let Some(reference) = current.get("$ref").and_then(Value::as_str) {
            let pointer = reference.trim_start_matches('#');
            current = self
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("unresolved $ref {reference}"));
        }
        current
    }
}

fn examples(media: &Value) -> Vec<Value> {
    let mut found = Vec::new();
    if let Some(example) = media.get("example") {
        found.push(example.clone());
    }
    if let Some(named) = media.get("examples").and_then(Value::as_object) {
        found.extend(named.values().filter_map(|e| e.get("value")).cloned());
    }
    found
}
