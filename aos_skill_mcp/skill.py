"""`McpTool`: one tool of one MCP server, as an AOS skill.

Built from the tool-list cache when plugins load (no server is started for that). Its metadata
comes from `mapping.map_metadata`, its `Input` and `Output` models from the tool's JSON Schemas.
A call goes through the runtime's one pipeline like any skill's (policy, approval, budget
reserved before anything is sent, timeout, retries when safe, the trace); `execute` only talks
to the server, over the runtime's pooled session.

The output is the tool's structured content when the tool declares an output schema, else
`{"text", "content", "structured"}` (`ToolResult`).
"""

from __future__ import annotations

from typing import Any

from aos_core import ErrorCode, PlanProblem, PreflightContext, SkillContext, SkillError
from aos_skill_mcp.cache import fingerprint
from aos_skill_mcp.config import ServerConfig
from aos_skill_mcp.mapping import map_metadata
from aos_skill_mcp.schemas import ToolResult, schema_model

__all__ = ["McpTool"]


class McpTool:
    """Call MCP tool `tool["name"]` of server `server_name` (see the module docstring)."""

    def __init__(
        self, server_name: str, server: ServerConfig, tool: dict[str, Any], server_info: dict[str, Any]
    ) -> None:
        self.server_name = server_name
        self.server = server
        self.tool_name = str(tool["name"])
        self.metadata = map_metadata(server_name, server, tool, server_info)
        name = self.metadata.name
        input_schema = tool.get("inputSchema") or {"type": "object"}
        self.Input = schema_model(f"{name}.Input", input_schema)
        output_schema = tool.get("outputSchema")
        self.structured = isinstance(output_schema, dict)
        self.Output: type[Any] = ToolResult
        if isinstance(output_schema, dict):
            self.Output = schema_model(f"{name}.Output", output_schema, root=Any)
        self.fingerprint = fingerprint(server)

    def warm_up(self) -> None:
        """Import the MCP SDK before the first call is timed."""
        import aos_skill_mcp.connection  # noqa: F401 - the import is the warm-up

    def preflight(self, params: dict[str, Any], ctx: PreflightContext) -> list[PlanProblem]:
        """Secrets the server's env or headers name that are not set (found without starting it)."""
        import re

        problems = []
        for where, values in (("env", self.server.env), ("headers", self.server.headers)):
            for key, value in values.items():
                for secret in re.findall(r"\$\{secrets\.([A-Za-z_][A-Za-z0-9_]*)\}", value):
                    if not ctx.has_secret(secret):
                        problems.append(
                            PlanProblem(
                                code=ErrorCode.INVALID_INPUT,
                                message=f"secret {secret} (in plugins.mcp.servers.{self.server_name}.{where}.{key}) "
                                "is not set",
                            )
                        )
        return problems

    async def execute(self, params: Any, ctx: SkillContext) -> Any:
        from aos_skill_mcp.connection import session_for
        from aos_skill_mcp.errors import tool_error

        session = session_for(self.server_name, self.server, self.fingerprint, ctx)
        result = await session.call_tool(self.tool_name, params.root, ctx.secrets)
        content = [block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in result.content]
        text = "\n".join(block["text"] for block in content if block.get("type") == "text")
        if result.is_error:
            raise tool_error(self.server_name, self.tool_name, text, content)
        if self.structured:
            if result.structured_content is None:
                raise SkillError(
                    ErrorCode.OUTPUT_VALIDATION_FAILED,
                    f"MCP tool {self.tool_name} of server {self.server_name} declares an output schema "
                    "but returned no structured content",
                    details={"server": self.server_name, "tool": self.tool_name},
                )
            return result.structured_content
        return {"text": text, "content": content, "structured": result.structured_content}
