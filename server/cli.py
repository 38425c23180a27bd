"""`graphyard serve | validate | run | schema | db upgrade`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from graphs.errors import DefinitionError
from graphs.registry import Registry


def _registry(args: argparse.Namespace) -> Registry:
    modules = [m for m in os.environ.get("GRAPHYARD_TOOL_MODULES", "").split(",") if m.strip()]
    if os.getcwd() not in sys.path:  # tool modules named by the operator may live here
        sys.path.insert(0, os.getcwd())
    return Registry.from_settings(modules)


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate definition files; exit 1 when any is invalid."""
    from graphs.spec import parse_definition
    from graphs.validate import validate_definition

    registry, status = _registry(args), 0
    for name in args.files:
        path = Path(name)
        try:
            raw = parse_definition(
                path.read_bytes(), "yaml" if path.suffix in (".yaml", ".yml") else None
            )
        except (OSError, DefinitionError) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            status = 1
            continue
        result = validate_definition(raw, registry)
        if result.valid:
            levels = " | ".join(", ".join(level) for level in result.levels)
            print(f"{path}: valid ({levels})")
            continue
        status = 1
        print(f"{path}: {len(result.issues)} issue(s)")
        for issue in result.issues:
            print(f"  {issue.path or '(root)'}: {issue.code}: {issue.message}")
    return status


def cmd_run(args: argparse.Namespace) -> int:
    """Run a workflow file locally (no server), asking at human gates."""
    from graphs.local import EXIT_FAILED, run_file

    try:
        run_input: Any = json.loads(args.input) if args.input else {}
    except json.JSONDecodeError as exc:
        print(f"--input is not valid JSON: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        return asyncio.run(
            run_file(Path(args.file), run_input, Path(args.data_dir), _registry(args), args.resume)
        )
    except (OSError, DefinitionError) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the definition format."""
    from graphs.spec import definition_json_schema

    print(json.dumps(definition_json_schema(), indent=2))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the HTTP server."""
    from server.serve import serve

    return serve(args)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Apply database migrations."""
    from server.serve import db_upgrade

    return db_upgrade(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graphyard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the HTTP server")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--data-dir", default=None)
    serve.add_argument("--workflows-dir", default=None)
    serve.set_defaults(func=cmd_serve)
    validate = sub.add_parser("validate", help="validate workflow files")
    validate.add_argument("files", nargs="+")
    validate.set_defaults(func=cmd_validate)
    run = sub.add_parser("run", help="run a workflow file locally")
    run.add_argument("file")
    run.add_argument("--input", default=None, help="the run input as a JSON object")
    run.add_argument("--resume", default=None, metavar="RUN_ID", help="continue a local run")
    run.add_argument("--data-dir", default=".graphyard", help="where local runs are kept")
    run.set_defaults(func=cmd_run)
    schema = sub.add_parser("schema", help="print the definition JSON Schema")
    schema.set_defaults(func=cmd_schema)
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply migrations")
    upgrade.add_argument("--data-dir", default=None)
    upgrade.set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
