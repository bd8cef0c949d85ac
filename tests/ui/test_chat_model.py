"""The conversation on screen has one copy: the list model is a view of the
``ConversationRecord`` it shows, so what is saved is what was shown."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from assistant.core.answer.conversations import ConversationRecord, Message
from assistant.ui.models.chat_model import ChatMessagesModel


def test_the_chat_list_is_a_view_of_its_conversation_record(qtbot: QtBot) -> None:
    record = ConversationRecord()
    model = ChatMessagesModel()
    model.show(record)
    model.append(Message("user", "When does the gate close?"))
    model.append(Message("assistant", ""))
    model.extend_last("At nine.")
    assert [(m.role, m.text) for m in record.messages] == [
        ("user", "When does the gate close?"),
        ("assistant", "At nine."),
    ]
    model.replace_last(Message("assistant", "At nine [1]."))
    assert record.messages[-1].text == "At nine [1]."
    model.truncate(0)
    assert record.messages == [] and model.rowCount() == 0
    other = ConversationRecord(messages=[Message("user", "Hello")])
    model.show(other)
    assert model.shows(other) and not model.shows(record)
    assert model.rowCount() == 1 and model.messages()[0] is other.messages[0]
