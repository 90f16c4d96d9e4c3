import pytest

from data_access.sql.names import InvalidNameError, TableName, quote


def test_a_column_name_is_quoted_in_backticks_with_a_backtick_inside_doubled():
    assert quote("invoice_id") == "`invoice_id`"
    assert quote("state code") == "`state code`"
    assert quote("größe") == "`größe`"
    assert quote("tag`s") == "`tag``s`"


@pytest.mark.parametrize("name", ["", "line\nbreak", "tab\there", "nul\x00", "x" * 256])
def test_a_column_name_with_control_characters_or_of_no_or_too_many_characters_is_refused(name):
    with pytest.raises(InvalidNameError, match=r"^Column name .* cannot be used"):
        quote(name)


def test_table_names_stay_plain_identifiers():
    assert TableName.parse("mirion_vital.raw.invoices").quoted == "`mirion_vital`.`raw`.`invoices`"
    with pytest.raises(InvalidNameError):
        TableName.parse("mirion_vital.raw.state codes")
