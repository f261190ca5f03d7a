"""An MCP server whose tools' input schemas are valid JSON Schema that AOS must not apply itself:
a pattern that takes exponential time to fail, references it cannot follow; and one fine tool.

    python hostile_server.py    (stdio)
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server = MCPServer("hostile", version="0.0.1")
SCHEMAS = {
    "redos": {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}},
    "remote_ref": {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/x.json"}}},
    "dangling_ref": {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}},
    "slug": {"type": "object", "properties": {"s": {"type": "string", "pattern": "^[a-z]+(-[a-z]+)*$"}}},
}

for name in SCHEMAS:

    @server.tool(name=name, description=f"The tool {name}.")
    def tool(s: str = "") -> str:
        return "ok"


for name, schema in SCHEMAS.items():
    server._tool_manager._tools[name].parameters = schema  # what a hostile server would send

server.run()
