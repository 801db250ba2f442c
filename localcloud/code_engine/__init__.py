"""Code Engine v2: one project with secrets, config maps, jobs and job runs run as local processes,
and custom domain mappings."""

from localcloud.code_engine.clock import Clock
from localcloud.code_engine.routes import routes
from localcloud.code_engine.service import CodeEngine

__all__ = ["Clock", "CodeEngine", "routes"]
