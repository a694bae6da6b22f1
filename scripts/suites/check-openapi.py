"""Every request body and JSON response in openapi.yaml has an `example`,
and every example is valid against its schema (JSON Schema 2020-12, refs
resolved against the document). Run by scripts/contract.sh."""
import sys

import jsonschema
import yaml

doc = yaml.safe_load(open("openapi.yaml"))


def deref(node):
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


problems = []


def check(where, media):
    if "example" not in media:
        problems.append(f"{where}: no example")
        return
    wrapper = {"$ref": "#/x", "x": media["schema"], "components": doc["components"]}
    try:
        jsonschema.validate(media["example"], wrapper)
    except jsonschema.ValidationError as e:
        problems.append(f"{where}: {e.message}")


for path, ops in doc["paths"].items():
    for method, op in ops.items():
        body = op.get("requestBody")
        if body:
            check(f"{method.upper()} {path} request", body["content"]["application/json"])
        for status, resp in op["responses"].items():
            media = deref(resp).get("content", {}).get("application/json")
            if media:
                check(f"{method.upper()} {path} {status}", media)

if problems:
    print("openapi.yaml examples:\n  " + "\n  ".join(problems))
    sys.exit(1)
print("openapi.yaml: every request and JSON response has a valid example")
