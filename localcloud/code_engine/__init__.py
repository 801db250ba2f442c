"""Code Engine v2: one project with secrets, jobs and job runs run as local processes."""

from localcloud.code_engine.clock import Clock
from localcloud.code_engine.routes import routes
from localcloud.code_engine.service import CodeEngine

__all__ = ["Clock", "CodeEngine", "routes"]
