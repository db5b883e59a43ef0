"""The assistant's capabilities as plain typed functions: one module per tool.

Agent-facing tools have the form `fn(ctx: ToolContext, **args) -> ToolResult` (see
`tools/result.py`); they import nothing from LangChain or Gradio. `tools/registry.py` lists them
for the agent.
"""
