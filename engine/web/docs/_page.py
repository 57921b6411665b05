"""The API reference as one self-contained HTML page, rendered from the OpenAPI document.

No scripts, no fonts, nothing fetched from elsewhere: it works offline and behind any
firewall. Operations are grouped by tag; every schema is listed with its properties.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

_STYLE = """
body{font:14px/1.5 system-ui,sans-serif;margin:0;color:#1d2430;background:#fafbfc}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{border-bottom:1px solid #d8dee4;padding-bottom:4px;margin-top:32px}
nav a{margin-right:12px}
details{background:#fff;border:1px solid #d8dee4;border-radius:6px;margin:6px 0;padding:6px 10px}
summary{cursor:pointer}
.m{display:inline-block;min-width:64px;font-weight:600;text-transform:uppercase;font-size:12px}
.get{color:#0969da}.post{color:#1a7f37}.patch{color:#9a6700}.put{color:#8250df}.delete{color:#cf222e}
code,pre{font-family:ui-monospace,monospace;font-size:13px}
table{border-collapse:collapse;margin:6px 0}
td,th{border:1px solid #d8dee4;padding:3px 8px;text-align:left;vertical-align:top}
.muted{color:#57606a}
"""
_METHODS = ("get", "post", "put", "patch", "delete")


def _ref_name(value: dict[str, Any]) -> str | None:
    ref = value.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _type(schema: dict[str, Any]) -> str:
    name = _ref_name(schema)
    if name is not None:
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    kind = schema.get("type")
    if kind == "array" or (isinstance(kind, list) and "array" in kind):
        return f"array of {_type(schema.get('items', {}))}"
    text = " | ".join(kind) if isinstance(kind, list) else str(kind or "any")
    if "format" in schema:
        text += f" ({schema['format']})"
    return escape(text)


def _constraints(schema: dict[str, Any]) -> str:
    keys = ("enum", "minimum", "maximum", "minLength", "maxLength", "pattern", "default", "readOnly")
    parts = [f"{k}: {json.dumps(schema[k], ensure_ascii=False)}" for k in keys if k in schema]
    return escape("; ".join(parts))


def _parameters(spec: dict[str, Any], operation: dict[str, Any]) -> str:
    rows = []
    for parameter in operation.get("parameters", []):
        name = _ref_name(parameter)
        if name is not None:
            parameter = spec["components"]["parameters"][name]
        schema = parameter.get("schema", {})
        rows.append(
            f"<tr><td><code>{escape(parameter['name'])}</code></td><td>{escape(parameter['in'])}</td>"
            f"<td>{_type(schema)}</td><td>{_constraints(schema)} {escape(parameter.get('description', ''))}</td></tr>"
        )
    if not rows:
        return ""
    return "<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>" + "".join(rows) + "</table>"


def _operation(spec: dict[str, Any], path: str, method: str, operation: dict[str, Any]) -> str:
    body = ""
    request_body = operation.get("requestBody")
    if request_body:
        kinds = ", ".join(
            f"<code>{escape(media)}</code> {_type(content.get('schema', {}))}"
            for media, content in request_body.get("content", {}).items()
        )
        body = f"<p>Body: {kinds}</p>"
    responses = []
    for status, response in operation.get("responses", {}).items():
        name = _ref_name(response)
        if name is not None:
            response = spec["components"]["responses"][name]
        schemas = ", ".join(_type(c.get("schema", {})) for c in response.get("content", {}).values())
        responses.append(
            f"<tr><td>{escape(status)}</td><td>{escape(response.get('description', ''))}</td><td>{schemas}</td></tr>"
        )
    return (
        f'<details id="op-{escape(operation.get("operationId", ""))}"><summary><span class="m {method}">{method}'
        f"</span> <code>{escape(spec['servers'][0]['url'] + path)}</code> "
        f'<span class="muted">{escape(operation.get("summary", ""))}</span></summary>'
        f"{_parameters(spec, operation)}{body}"
        f"<table><tr><th>status</th><th>meaning</th><th>body</th></tr>{''.join(responses)}</table></details>"
    )


def _schema(name: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    rows = [
        f"<tr><td><code>{escape(prop)}</code>{' *' if prop in required else ''}</td><td>{_type(sub)}</td>"
        f"<td>{escape(sub.get('title', ''))} {escape(sub.get('description', ''))}</td>"
        f"<td>{_constraints(sub)}</td></tr>"
        for prop, sub in schema.get("properties", {}).items()
    ]
    table = (
        (
            "<table><tr><th>property (* required)</th><th>type</th><th></th><th>constraints</th></tr>"
            + "".join(rows)
            + "</table>"
        )
        if rows
        else ""
    )
    return (
        f'<details id="schema-{escape(name)}"><summary><code>{escape(name)}</code> '
        f'<span class="muted">{escape(schema.get("description", schema.get("title", "")))}</span></summary>'
        f"{table}</details>"
    )


def render_page(spec: dict[str, Any]) -> str:
    """The HTML reference page of ``spec``."""
    info = spec["info"]
    groups: dict[str, list[str]] = {t["name"]: [] for t in spec.get("tags", [])}
    for path, item in spec["paths"].items():
        for method in _METHODS:
            if method in item:
                operation = item[method]
                tag = (operation.get("tags") or ["other"])[0]
                groups.setdefault(tag, []).append(_operation(spec, path, method, operation))
    descriptions = {t["name"]: t.get("description", "") for t in spec.get("tags", [])}
    sections = "".join(
        f'<h2 id="tag-{escape(tag)}">{escape(tag)} <span class="muted">{escape(descriptions.get(tag, ""))}</span>'
        f"</h2>{''.join(operations)}"
        for tag, operations in groups.items()
        if operations
    )
    schemas = "".join(_schema(n, s) for n, s in spec.get("components", {}).get("schemas", {}).items())
    nav = "".join(f'<a href="#tag-{escape(t)}">{escape(t)}</a>' for t, ops in groups.items() if ops)
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in info.get("description", "").split("\n\n"))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(info['title'])}</title><style>{_STYLE}</style></head><body><main>"
        f'<h1>{escape(info["title"])}</h1><p class="muted">version {escape(str(info["version"]))} · '
        f'<a href="openapi.json">openapi.json</a></p>{paragraphs}<nav>{nav}<a href="#schemas">schemas</a></nav>'
        f'{sections}<h2 id="schemas">schemas</h2>{schemas}</main></body></html>'
    )
