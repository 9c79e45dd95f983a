"""A small MCP server over stdio for Arbor's MCP client tests.

Written with the official Python MCP SDK (`pip install mcp`; `scripts/install-test-deps`
installs it). Tools: `add` (two integers), `echo` (a string), `fail` (always raises, to check that
a tool error reaches the model as a tool error).
"""

try:  # mcp >= 2: FastMCP was renamed MCPServer
    from mcp.server.mcpserver import MCPServer as Server
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server

server = Server("arbor-test")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the given reason."""
    raise ValueError(reason)


if __name__ == "__main__":
    server.run()
