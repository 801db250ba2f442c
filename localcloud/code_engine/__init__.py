"""Code Engine v2: projects in several regions, each with secrets, config maps, jobs and job runs
run as local processes, apps, builds and custom domain mappings."""

from localcloud.code_engine.clock import Clock
from localcloud.code_engine.project_space import ProjectSpace
from localcloud.code_engine.routes import routes
from localcloud.code_engine.service import CodeEngine

__all__ = ["Clock", "CodeEngine", "ProjectSpace", "routes"]
