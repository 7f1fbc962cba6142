"""The fake secrets the suite hands to the code under test (DESIGN §5).

Tests that need a fal key or an OpenAI ``api_key`` take them from here, so that the suite-wide
leak check (``tests/_leak_check.py``) knows what to look for in every test's output. The values
are distinctive on purpose: a hit can only be a leak, never a coincidence.
"""

from __future__ import annotations

#: A fal key has the shape ``key_id:key_secret``; the secret half alone is a leak too.
FAL_KEY = "falkey-5ecret-7f3a9c1e:d41d8cd98f00b204e980"
#: A key fal refuses (401) is still somebody's secret.
WRONG_FAL_KEY = "falkey-5ecret-7f3a9c1e:WRONGwr0ngWRONG00000"
#: An ADMIN-scope fal key (``FAL_ADMIN_KEY``): it reads billing and usage, so it is a secret too.
FAL_ADMIN_KEY = "faladmin-5ecret-0b1c2d3e:9e107d9d372bb6826bd8"
#: The user's own OpenAI key, passed as ``api_key=`` and billed by OpenAI.
OPENAI_KEY = "sk-proj-0penai5ecretKEYdoNotLeak1234567890"

#: The team ledger's PostgreSQL password: the throwaway test server (tests/team/_server.py) requires
#: it, so every team test's database URL carries it.
DB_PASSWORD = "pg-5ecret-Passw0rd-9b2e4d71"

#: What the leak check searches for, by the name it reports (it never prints a value).
SECRETS: dict[str, str] = {
    "FAL_KEY": FAL_KEY,
    "the secret half of FAL_KEY": FAL_KEY.split(":", 1)[1],
    "WRONG_FAL_KEY": WRONG_FAL_KEY,
    "the secret half of WRONG_FAL_KEY": WRONG_FAL_KEY.split(":", 1)[1],
    "FAL_ADMIN_KEY": FAL_ADMIN_KEY,
    "the secret half of FAL_ADMIN_KEY": FAL_ADMIN_KEY.split(":", 1)[1],
    "OPENAI_KEY": OPENAI_KEY,
    "DB_PASSWORD": DB_PASSWORD,
}
