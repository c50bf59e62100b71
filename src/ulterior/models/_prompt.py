from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ulterior.records import Message

Conversation = Sequence[Message]

FormatName = Literal["chat", "plain"]


def render_plain(conversation: Conversation) -> str:
    """Render a conversation in the ``Human: ... Assistant:`` format of Perez et al. (2022).

    Used for base models without a chat template and for text-completion endpoints. A system
    turn becomes a preamble; the text ends with ``Assistant:`` so that the answer follows.
    """
    parts: list[str] = []
    for message in conversation:
        if message.role == "system":
            parts.append(message.content)
        elif message.role == "user":
            parts.append(f"Human: {message.content}")
        else:
            parts.append(f"Assistant: {message.content}")
    return "\n\n" + "\n\n".join(parts) + "\n\nAssistant:"


@dataclass(frozen=True)
class PromptFormat:
    """How a conversation becomes the text a model continues, and how an answer attaches.

    ``chat`` uses the tokenizer's chat template with the generation prompt, so the answer
    starts the assistant turn directly. ``plain`` ends in ``Assistant:`` and the answer follows
    after a space, as in the original advanced-ai-risk evaluations.
    """

    name: FormatName
    tokenizer: Any = None

    def render(self, conversation: Conversation) -> str:
        """Return the prompt text for ``conversation``."""
        if self.name == "plain":
            return render_plain(conversation)
        messages = [{"role": m.role, "content": m.content} for m in conversation]
        text = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        return str(text)

    def continuation(self, answer: str) -> str:
        """Return the text that follows the prompt when the model gives ``answer``."""
        answer = answer.strip()
        return " " + answer if self.name == "plain" else answer
