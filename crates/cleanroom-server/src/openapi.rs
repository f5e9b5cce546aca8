//! `/openapi.json`, made from the same route table as the router (`api::table`).

use serde_json::{Map, Value, json};

pub(crate) fn document() -> Value {
    let mut paths = Map::new();
    for r in crate::api::table() {
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let mut op = json!({
            "summary": r.summary,
            "description": format!("Who: {}.", r.who),
            "parameters": params,
            "responses": {
                "200": { "description": "OK" },
                "default": {
                    "description": "An error: `{\"error\":{\"code\",\"message\",\"request_id\"}}`",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
                }
            }
        });
        if r.who != "anyone, without a token" {
            op["security"] = json!([{ "bearer": [] }]);
        }
        let entry = paths
            .entry(r.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[r.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "cleanroom",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Licensed operators submit jobs; the guard checks every output; reviewers release products."
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message", "request_id"],
                            "properties": {
                                "code": { "type": "string" },
                                "message": { "type": "string" },
                                "request_id": { "type": "string" }
                            }
                        }
                    }
                }
            }
        }
    })
}
