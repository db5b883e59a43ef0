"""The offline planner: a deterministic chat model that turns questions into tool calls.

The path of a question, one module per step:
- text: normalise the question; matched phrases are consumed as they are recognised;
- intents: questions for other tools (segments, churn, audiences, copy, SQL pasted in), the
  planner's own replies (help, refusals of personal data);
- periods, measures, filters: the time window, what is measured and how it is split and ranked,
  and for whom (vocabulary holds the words for the warehouse's values);
- parse: a frame from all of that, and a refusal when any meaningful word is left over (a
  refusal is better than a wrong number);
- followups: questions that build on the previous one ("now only for Germany", "of those, how
  many have churned?"), and none built on a question that could not be answered;
- clauses, sqlgen, campaigns, snapshot, lapsed: the frame as SQL applying the business
  definitions (snapshot: the KPI overview for "how are we doing?"; lapsed: the size and profile
  of the high-value dormant customers);
- answer: the final sentence from the tool's summary, with the period and definitions used;
- model: the LangChain chat model that plays the plan step by step.
"""

from assistant.planner.model import OfflinePlanner

__all__ = ["OfflinePlanner"]
