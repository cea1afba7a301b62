"""The one redactor: URL passwords masked, resolved ``${VAR}`` values put back."""

from review.secrets import redact


def test_url_passwords_are_masked():
    assert redact("postgres://ana:s3cret@db:5432/x") == "postgres://ana:***@db:5432/x"
    text = "cannot connect to postgres://ana:s3cret@db/x (timeout)"
    assert redact(text) == "cannot connect to postgres://ana:***@db/x (timeout)"


def test_resolved_secrets_of_the_source_are_put_back(monkeypatch):
    monkeypatch.setenv("DB_PASS", 'pa"ss<w>')
    monkeypatch.setenv("SHORT", "ab")  # too short to redact: it would match everywhere
    source = "postgres://ana:${DB_PASS}@db/x?app=${SHORT}"
    leaked = 'error: pa"ss<w> in {"p": "pa\\"ss<w>"} and <b>pa&quot;ss&lt;w&gt;</b> ab'
    assert redact(leaked, source) == ('error: ${DB_PASS} in {"p": "${DB_PASS}"} and '
                                      '<b>${DB_PASS}</b> ab')
