"""aos-skill-mcp: MCP servers' tools as AOS skills, and AOS skills served over MCP.

Importing this package never imports the MCP SDK: the SDK is imported on the first call of a
tool, by `aos mcp refresh` and by `aos mcp serve`.
"""

from aos_skill_mcp.config import McpConfig, McpConfigError, ServerConfig, ToolSettings, parse_config
from aos_skill_mcp.mapping import map_metadata, skill_name
from aos_skill_mcp.skill import McpTool

__version__ = "0.1.0"
__all__ = [
    "McpConfig",
    "McpConfigError",
    "McpTool",
    "ServerConfig",
    "ToolSettings",
    "__version__",
    "map_metadata",
    "parse_config",
    "skill_name",
]
