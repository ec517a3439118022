#!/usr/bin/env python3
"""Checks the Terraform under a directory against the AWS provider's own schema.

Every ``resource`` and ``data`` block of every ``.tf`` file (parsed with python-hcl2) must name a
type the provider has; each argument and nested block (``dynamic`` ones included) must be one the
type knows, and every required argument and required nested block must be present, recursively.
Findings are one line each, ``file:line: aws_x.name: unknown argument "foo"``; exit 1 when there
are any, 2 when a path cannot be read or parsed.

The schema comes from ``cdktf-cdktf-provider-aws`` (PyPI), generated from the AWS Terraform
provider: its jsii assembly lists, per resource and data source, the ``<Name>Config`` interface
(each property an argument, ``optional`` false meaning required; a property whose summary is
``"<name> block."`` and whose type is another struct is a nested block), and each property's
Terraform name is the ``#name`` its registry link ends with. The wheel is fetched once with
``pip download --no-deps`` (nothing is installed, so the project's boto3 and every other
dependency stay as they are), and a condensed schema is cached in
``$CANARYCTL_TF_SCHEMA_CACHE`` (default ``~/.cache/canaryctl/tf-schema``).

    python scripts/tf_schema_check.py terraform
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from hcl2.rules.base import AttributeRule, BlockRule, BodyRule

PACKAGE = "cdktf-cdktf-provider-aws"
VERSION = "21.22.1"  # generated from the AWS provider 6.25.0
_ASSEMBLY = f"cdktf_cdktf_provider_aws/_jsii/provider-aws@{VERSION}.jsii.tgz"
_LINK = re.compile(r"#([a-z0-9_]+) \w+#")
_BLOCK = re.compile(r"^([a-z0-9_]+) block\.$")
_TYPE = re.compile(r"docs/(resources|data-sources)/\S+ (aws_\w+)\}")
_BASES = {"cdktf.TerraformResource": "resource", "cdktf.TerraformDataSource": "data"}

# Terraform's own arguments and blocks (https://developer.hashicorp.com/terraform/language/meta-arguments).
_META_ARGS = {"count", "for_each", "depends_on", "provider"}
_META_BLOCKS = {"resource": {"lifecycle", "provisioner", "connection"}, "data": {"lifecycle"}}
_DYNAMIC_ARGS = {"for_each", "iterator", "labels"}
# Terraform's builtin provider (https://developer.hashicorp.com/terraform/language/resources/terraform-data):
# the local environment uses it; every other non-AWS type is another provider's, not checked.
_BUILTIN = {"terraform_data": {"args": {"input": False, "triggers_replace": False}}}


class SchemaError(Exception):
    """The provider schema could not be fetched or read."""


# --- the schema ---------------------------------------------------------------------------------


def _struct_fqn(type_ref: dict[str, Any]) -> str | None:
    """The struct a property's type is, or holds (a list or a union with IResolvable)."""
    if "fqn" in type_ref:
        fqn = str(type_ref["fqn"])
        return None if fqn.startswith("cdktf.") else fqn
    if "collection" in type_ref:
        return _struct_fqn(type_ref["collection"]["elementtype"])
    for member in type_ref.get("union", {}).get("types", []):
        found = _struct_fqn(member)
        if found is not None:
            return found
    return None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _struct(types: dict[str, Any], fqn: str, out: dict[str, Any]) -> None:
    """Condense one Config or block struct (and the blocks it holds) into ``out``."""
    if fqn in out:
        return
    entry: dict[str, Any] = {"args": {}, "blocks": {}, "objects": {}}
    out[fqn] = entry
    for prop in types[fqn].get("properties", []):
        docs = prop.get("docs", {})
        text = f"{docs.get('summary', '')} {docs.get('remarks', '')}"
        link = _LINK.search(text)
        block = _BLOCK.match(docs.get("summary", ""))
        nested = _struct_fqn(prop["type"])
        name = link.group(1) if link else block.group(1) if block else _snake(prop["name"])
        required = not prop.get("optional", False)
        struct = nested is not None and bool(types.get(nested, {}).get("datatype"))
        if block and struct:
            entry["blocks"][name] = [required, nested]
        else:
            entry["args"][name] = required
        if struct and nested is not None:
            if not block:  # an object argument; Terraform also takes block syntax for
                entry["objects"][name] = nested  # list-of-object ones ("attributes as blocks")
            _struct(types, nested, out)


def build_schema(assembly: dict[str, Any]) -> dict[str, Any]:
    """``{"resource": {type: fqn}, "data": {type: fqn}, "structs": {fqn: struct}}``, each
    struct ``{"args": {name: required}, "blocks": {name: [required, fqn]}, "objects": {name:
    fqn}}`` (``objects``: arguments whose value is an object or a list of them)."""
    types = assembly["types"]
    schema: dict[str, Any] = {"resource": {}, "data": {}, "structs": {}}
    for spec in types.values():
        kind = _BASES.get(spec.get("base", ""))
        if kind is None:
            continue
        init = spec["initializer"]
        match = _TYPE.search(init["docs"]["summary"])
        if match is None:
            continue
        config = init["parameters"][2]["type"]["fqn"]
        schema[kind][match.group(2)] = config
        _struct(types, config, schema["structs"])
    return schema


def _cache_dir() -> Path:
    default = Path.home() / ".cache" / "canaryctl" / "tf-schema"
    return Path(os.environ.get("CANARYCTL_TF_SCHEMA_CACHE") or default)


def _download(directory: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    cmd += ["--dest", str(directory), f"{PACKAGE}=={VERSION}"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheels = sorted(directory.glob("cdktf_cdktf_provider_aws-*.whl"))
    if done.returncode != 0 or not wheels:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise SchemaError(f"pip download {PACKAGE}=={VERSION} failed: {tail[0]}")
    return wheels[0]


def _read_assembly(wheel: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as zf, zf.open(_ASSEMBLY) as raw:
        packed = io.BytesIO(raw.read())
    with tarfile.open(fileobj=packed, mode="r:gz") as tar:
        member = tar.extractfile("package/.jsii")
        if member is None:
            raise SchemaError(f"{wheel.name}: no package/.jsii in {_ASSEMBLY}")
        data: dict[str, Any] = json.load(member)
        return data


def load_schema(cache: Path | None = None) -> dict[str, Any]:
    """The condensed schema, built from the provider package on first use and cached."""
    cache = cache or _cache_dir()
    path = cache / f"provider-aws-{VERSION}.json"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"tf-schema: building {path} from {PACKAGE} {VERSION}", file=sys.stderr)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            schema = build_schema(_read_assembly(_download(Path(tmp))))
            part = Path(tmp) / path.name
            part.write_text(json.dumps(schema, separators=(",", ":")))
            part.replace(path)
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


# --- the check ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    address: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.address}: {self.message}"


def _line(node: Any) -> int:
    meta = getattr(node, "_meta", None)  # python-hcl2 keeps lark's Meta here
    return int(getattr(meta, "line", 0) or 0)


def _label(node: Any) -> str:
    return str(node.serialize()).strip('"')


def _items(body: BodyRule) -> Iterator[AttributeRule | BlockRule]:
    for child in body.children:
        if isinstance(child, AttributeRule | BlockRule):
            yield child


class _Checker:
    def __init__(self, schema: dict[str, Any], file: str) -> None:
        builtin = {f"builtin.{k}": {"blocks": {}, "objects": {}, **v} for k, v in _BUILTIN.items()}
        self.structs: dict[str, Any] = {**schema["structs"], **builtin}
        self.schema = schema
        self.file = file
        self.findings: list[Finding] = []

    def add(self, node: Any, address: str, message: str) -> None:
        self.findings.append(Finding(self.file, _line(node), address, message))

    def top(self, block: BlockRule) -> None:
        labels = [_label(x) for x in block.labels]
        kind = labels[0]
        if kind not in ("resource", "data") or len(labels) != 3:
            return
        rtype, name = labels[1], labels[2]
        address = f"{rtype}.{name}" if kind == "resource" else f"data.{rtype}.{name}"
        if kind == "resource" and rtype in _BUILTIN:
            fqn = f"builtin.{rtype}"
        elif not rtype.startswith("aws_"):
            return  # another provider's: not in this schema
        else:
            fqn = self.schema[kind].get(rtype)
        if fqn is None:
            what = "resource type" if kind == "resource" else "data source"
            self.add(block, address, f'unknown {what} "{rtype}"')
            return
        self.body(block, block.body, fqn, address, "", meta=kind)

    def body(
        self, node: Any, body: BodyRule, fqn: str, address: str, where: str, meta: str = ""
    ) -> None:
        struct = self.structs[fqn]
        args, blocks = struct["args"], struct["blocks"]
        seen: set[str] = set()
        suffix = f" in {where}" if where else ""
        for item in _items(body):
            if isinstance(item, AttributeRule):
                name = _label(item.identifier)
                seen.add(name)
                if name in args or (meta and name in _META_ARGS):
                    continue
                hint = " (a block, not an argument)" if name in blocks else ""
                self.add(item, address, f'unknown argument "{name}"{suffix}{hint}')
                continue
            self.nested(item, struct, address, where, meta, seen)
        for name, required in args.items():
            if required and name not in seen:
                self.add(node, address, f'missing required argument "{name}"{suffix}')
        for name, (required, _) in blocks.items():
            if required and name not in seen:
                self.add(node, address, f'missing required block "{name}"{suffix}')

    def nested(
        self,
        block: BlockRule,
        struct: dict[str, Any],
        address: str,
        where: str,
        meta: str,
        seen: set[str],
    ) -> None:
        blocks, args, objects = struct["blocks"], struct["args"], struct["objects"]
        labels = [_label(x) for x in block.labels]
        name, body, node = labels[0], block.body, block
        suffix = f" in {where}" if where else ""
        if meta and name in _META_BLOCKS[meta]:
            seen.add(name)
            return
        if name == "dynamic" and len(labels) == 2:
            name = labels[1]
            contents = [b for b in _items(block.body) if isinstance(b, BlockRule)]
            for item in _items(block.body):
                key = _label(item.identifier if isinstance(item, AttributeRule) else item.labels[0])
                if key not in _DYNAMIC_ARGS and key != "content":
                    self.add(item, address, f'unknown argument "{key}" in dynamic "{name}"')
            if len(contents) != 1:
                self.add(block, address, f'dynamic "{name}" needs one content block')
                return
            node, body = contents[0], contents[0].body
        seen.add(name)
        inner = f"{where}.{name}" if where else name
        if name in blocks:
            self.body(node, body, blocks[name][1], address, inner)
        elif name in objects:  # e.g. aws_security_group's ingress: an attribute as blocks
            self.body(node, body, objects[name], address, inner)
        else:
            hint = " (an argument, not a block)" if name in args else ""
            self.add(block, address, f'unknown block "{name}"{suffix}{hint}')


def check_file(path: Path, schema: dict[str, Any], shown: str | None = None) -> list[Finding]:
    tree = hcl2.parses(path.read_text(), discard_comments=True)
    checker = _Checker(schema, shown or str(path))
    for item in _items(tree.body):
        if isinstance(item, BlockRule):
            checker.top(item)
    return checker.findings


def check_tree(root: Path, schema: dict[str, Any]) -> list[Finding]:
    files = [root] if root.is_file() else sorted(root.rglob("*.tf"))
    findings: list[Finding] = []
    for path in files:
        if ".terraform" in path.parts:
            continue
        try:
            shown = str(path.relative_to(Path.cwd()))
        except ValueError:
            shown = str(path)
        findings.extend(check_file(path, schema, shown))
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("terraform")])
    args = parser.parse_args(argv)
    try:
        schema = load_schema()
    except (SchemaError, OSError, KeyError, ValueError) as exc:
        print(f"tf-schema: {exc}", file=sys.stderr)
        return 1
    findings: list[Finding] = []
    for root in args.paths:
        if not root.exists():
            print(f"tf-schema: {root}: no such file or directory", file=sys.stderr)
            return 2
        try:
            findings.extend(check_tree(root.resolve(), schema))
        except Exception as exc:  # a parse error of python-hcl2 (lark) names the file
            print(f"tf-schema: {root}: cannot parse: {exc}".splitlines()[0], file=sys.stderr)
            return 2
    for finding in findings:
        print(finding)
    if findings:
        print(f"tf-schema: {len(findings)} finding(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
