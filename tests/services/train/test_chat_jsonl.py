import json

import pytest

from services.train.chat_jsonl import UnreadablePair, chat_line
from tests.train_builders import IMAGES, messages_for

IMAGE = f"{IMAGES}/CRY-0001.png"


def test_a_pair_without_images_is_its_messages_with_the_answer_last():
    stored = messages_for("CRY-0001", '{"defect_type": "crack"}')
    line = chat_line(stored)
    assert "\n" not in line
    assert json.loads(line) == {"messages": json.loads(stored)}
    assert json.loads(line)["messages"][-1] == {"role": "assistant", "content": '{"defect_type": "crack"}'}


def test_images_become_content_parts_beside_the_text_of_the_last_user_message():
    stored = messages_for("CRY-0001", '{"defect_type": "crack"}')
    messages = json.loads(chat_line(stored, (IMAGE, f"{IMAGES}/CRY-0001-side.jpg")))["messages"]
    assert messages[1]["content"] == [
        {"type": "text", "text": "Crystal CRY-0001: is there a defect?\nLook closely."},
        {"type": "image_url", "image_url": {"url": IMAGE}},
        {"type": "image_url", "image_url": {"url": f"{IMAGES}/CRY-0001-side.jpg"}},
    ]
    assert messages[0] == {"role": "system", "content": "You inspect crystals."} and messages[-1]["role"] == "assistant"


def test_pdfs_and_other_files_are_not_attached():
    stored = messages_for("INV-1", '{"urgency": "routine"}')
    assert chat_line(stored, ("/Volumes/c/s/v/INV-1.pdf", "/Volumes/c/s/v/INV-1.txt")) == chat_line(stored)


@pytest.mark.parametrize("layout", [
    {"separators": (",", ":")},  # the warehouse writes compact JSON
    {"indent": 2},  # newlines between tokens: rewritten on one line
    {"ensure_ascii": True},
])
def test_every_stored_layout_gives_the_same_line_content(layout):
    messages = [
        {"role": "system", "content": "Inspect \"carefully\" — ünïcode"},
        {"role": "user", "content": 'Example {"role": "user", "content": "x"}'},
        {"role": "assistant", "content": '{"defect_type": "none"}'},
        {"role": "user", "content": "Crystal 7\\n"},
        {"role": "assistant", "content": '{"defect_type": "crack"}'},
    ]
    expected = json.loads(chat_line(json.dumps(messages, ensure_ascii=False), (IMAGE,)))
    line = chat_line(json.dumps(messages, **layout), (IMAGE,))
    assert "\n" not in line
    assert json.loads(line) == expected
    assert expected["messages"][3]["content"][0] == {"type": "text", "text": "Crystal 7\\n"}
    assert expected["messages"][1]["content"] == 'Example {"role": "user", "content": "x"}'  # a few-shot user message keeps its text


def test_a_stored_user_message_with_content_parts_gets_the_images_appended():
    stored = json.dumps([{"role": "user", "content": [{"type": "text", "text": "hi"}]}, {"role": "assistant", "content": "ok"}])
    assert json.loads(chat_line(stored, (IMAGE,)))["messages"][0]["content"] == [
        {"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": IMAGE}},
    ]


# The export query lets only readable messages through; text it could not vouch for (here: a
# newline between tokens) is parsed, and refused when it is not a chat ending with the answer.
@pytest.mark.parametrize("stored", ["not json\n", '{"role": "user"}\n', '[{"role": "user", "content": "q"}]\n'])
def test_messages_that_are_not_a_chat_ending_with_the_answer_are_refused(stored):
    with pytest.raises(UnreadablePair):
        chat_line(stored, (IMAGE,))
