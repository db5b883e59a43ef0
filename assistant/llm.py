"""The one chat-model factory: settings in, a LangChain chat model out.

- the offline planner when no API key or base URL is configured (or ASSISTANT_PROVIDER=offline);
- OpenAI with an API key, or any OpenAI-compatible endpoint (Ollama, vLLM, LM Studio, Azure-style
  gateways) by base URL, through `ChatOpenAI` on the Chat Completions protocol;
- whatever tests inject with `use_model(...)` (a scripted fake), for the CLI as for the agent.

Also the words for people when the model cannot be reached: `explain_model_error`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.language_models import BaseChatModel

from assistant.limits import reply_limited
from assistant.retry import openai_errors, retry_after
from assistant.settings import Settings
from warehouse.errors import ConfigError

OPENAI_URL = "https://api.openai.com/v1"
_override: list[BaseChatModel] = []


@contextmanager
def use_model(model: BaseChatModel) -> Iterator[BaseChatModel]:
    """Make `chat_model()` return `model` inside the block (tests inject scripted fakes)."""
    _override.append(model)
    try:
        yield model
    finally:
        _override.remove(model)


def chat_model(settings: Settings, wh=None) -> BaseChatModel:
    """The chat model the settings ask for; `wh` feeds the offline planner's vocabulary."""
    if _override:
        return _override[-1]
    if settings.uses_offline_planner:
        from assistant.planner import OfflinePlanner

        return OfflinePlanner.for_warehouse(wh)
    if settings.api_key is None and settings.base_url is None:
        raise ConfigError(
            "ASSISTANT_PROVIDER=openai needs an API key (OPENAI_API_KEY or ASSISTANT_API_KEY) "
            "or the base URL of an OpenAI-compatible server (ASSISTANT_BASE_URL)"
        )
    import openai

    from assistant.limits import reply_bytes
    from assistant.openai_model import DeadlineTransport, StrictChatOpenAI

    # Local servers (Ollama, vLLM, LM Studio) accept any key; the client insists on one.
    key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
    return StrictChatOpenAI(
        model=settings.model,
        api_key=key,
        base_url=settings.base_url,
        temperature=settings.temperature,
        timeout=settings.timeout,  # seconds of silence, and of a whole call (DeadlineTransport)
        max_retries=0,            # retries with backoff happen once, in the agent middleware
        use_responses_api=False,  # Chat Completions: what OpenAI-compatible servers speak
        # the timeout covers each whole reply (keep-alives included), and replies have a size
        # limit (issue 16)
        http_client=openai.DefaultHttpxClient(transport=DeadlineTransport(
            settings.timeout, max_bytes=reply_bytes(settings.max_reply_chars))),
    )


def mode_label(model: BaseChatModel, settings: Settings) -> str:
    """"offline" for the planner, else the model name (for answers, receipts, the audit log)."""
    from assistant.planner import OfflinePlanner

    if isinstance(model, OfflinePlanner):
        return "offline"
    return (getattr(model, "model_name", None) or getattr(model, "model", None)
            or settings.model)


def endpoint(settings: Settings) -> str:
    return (settings.base_url or OPENAI_URL).rstrip("/")


def _status(exc: BaseException) -> str:
    code = getattr(exc, "status_code", None)
    return f" (HTTP {code})" if code else ""


def explain_model_error(exc: BaseException, settings: Settings) -> str | None:
    """A message a marketer can act on for a model failure, or None if `exc` is not one."""
    if not isinstance(exc, (ModelError, *openai_errors("OpenAIError"))):
        return None
    where = endpoint(settings)
    limited = reply_limited(exc)
    if limited is not None:
        what = (f"The model endpoint {where} did not answer within {settings.timeout:g} s: it "
                "kept sending without finishing its reply (ASSISTANT_TIMEOUT covers the whole "
                "reply)."
                if limited == "deadline" else
                f"The model endpoint {where} sent a reply longer than the "
                f"{settings.max_reply_chars:,} characters allowed (ASSISTANT_MAX_REPLY_CHARS).")
        return (f"{what} Your question was not answered; the conversation is kept, so ask "
                "again.")
    retries = settings.max_retries
    tried = f" after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else ""
    if isinstance(exc, ContextOverflowError):
        what = (f"The conversation is too long for the model {settings.model}. Start a new "
                "conversation (or a new --session) and ask again.")
        return what
    if isinstance(exc, (ModelAuthenticationError, *openai_errors("AuthenticationError"))):
        what = (f"The model endpoint {where} rejected the API key{_status(exc)}. Check "
                "OPENAI_API_KEY or ASSISTANT_API_KEY.")
    elif isinstance(exc, (ModelPermissionDeniedError, *openai_errors("PermissionDeniedError"))):
        what = (f"The model endpoint {where} refused access to the model {settings.model}"
                f"{_status(exc)}. Check that your key may use it.")
    elif isinstance(exc, (ModelNotFoundError, *openai_errors("NotFoundError"))):
        what = (f"The model endpoint {where} does not know the model {settings.model!r}"
                f"{_status(exc)}. Check ASSISTANT_MODEL and ASSISTANT_BASE_URL.")
    elif isinstance(exc, (ModelRateLimitError, *openai_errors("RateLimitError"))):
        asked = retry_after(exc)
        wait = (f"It asks to wait {asked:,.0f} s before the next request" if asked is not None
                else "Wait a minute")
        what = (f"The model endpoint {where} is limiting requests{_status(exc)}{tried}. {wait} "
                "and ask again, or check the quota of your API key.")
    elif isinstance(exc, (ModelTimeoutError, *openai_errors("APITimeoutError"))):
        what = (f"The model endpoint {where} did not answer within {settings.timeout:g} s"
                f"{tried}. Check that the server is up and not overloaded, or raise "
                "ASSISTANT_TIMEOUT.")
    elif isinstance(exc, (ModelConnectionError, *openai_errors("APIConnectionError"))):
        what = (f"Could not connect to the model endpoint {where}{tried}. Check that the server "
                "is running, that ASSISTANT_BASE_URL is right and that this machine can reach "
                "it.")
    elif isinstance(exc, (ModelAPIError, *openai_errors("InternalServerError"))):
        what = (f"The model endpoint {where} had a server error{_status(exc)}{tried}. The "
                "service may be down; try again in a few minutes.")
    else:
        detail = str(getattr(exc, "message", "") or exc).strip().splitlines()
        what = (f"The model endpoint {where} rejected the request{_status(exc)}: "
                f"{detail[0] if detail else type(exc).__name__}.")
    return (f"{what} Your question was not answered; the conversation is kept, so ask again "
            "once this is fixed (or set ASSISTANT_PROVIDER=offline to use the offline planner).")
