"""The OpenAPI document exactly as the app serves it, for the schema-driven tests (contract and fuzzing)."""

import tempfile
from pathlib import Path

from service import config as config_module
from service.domain.db import Database
from service.domain.runtime import Runtime
from service.web.app import create_app


def published_document() -> dict:
    """GET /openapi.json of an app on an empty SQLite runtime (building the document touches no database)."""
    config = config_module.load({"TEND_SECRET_KEY": "x" * 20}, var_dir=Path(tempfile.mkdtemp()))
    app = create_app(Runtime(config=config, db=Database("sqlite://")))
    return app.test_client().get("/openapi.json").get_json()
