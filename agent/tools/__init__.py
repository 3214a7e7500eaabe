"""Tools a route's models may call: the business's HTTP endpoints, Python functions, and the
built-in ones (search the knowledge base, hand over to a person, verify the customer).

`spec` describes a tool to the models, `arguments` checks what a model asks for, `http` and
`python` run the two kinds, `builtin` the built-in ones, `box` holds them with the guard rails
(allow-list, verified customer, confirmation), and `loop` runs a route's models with them.
"""

from agent.tools.base import ToolContext, ToolReply, ToolRunner
from agent.tools.box import ToolBox, ToolExecution
from agent.tools.loop import ToolLoopResult, answer_with_tools
from agent.tools.spec import ToolSpec

__all__ = [
    "ToolBox",
    "ToolContext",
    "ToolExecution",
    "ToolLoopResult",
    "ToolReply",
    "ToolRunner",
    "ToolSpec",
    "answer_with_tools",
]
