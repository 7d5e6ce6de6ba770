"""Exam sign-in is throttled per (address, ticket): guessing one ticket's ID number is slowed, a room is not."""
from __future__ import annotations


def test_repeated_wrong_sign_ins_for_one_ticket_are_throttled(client, demo):
    body = {"ticket_number": "26000020015", "id_number": "110105194912310021", "access_code": "WRONG1",
            "device_id": "dev-1"}
    codes = [client.post("/api/v1/delivery/login", json=body).status_code for _ in range(32)]
    assert 429 not in codes[:30] and codes[30:] == [429, 429]
    other = client.post("/api/v1/delivery/login", json={**body, "ticket_number": "26000020016"})
    assert other.status_code != 429  # another candidate behind the same address is not locked out
