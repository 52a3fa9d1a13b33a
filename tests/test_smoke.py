async def test_post_and_read_back(client):
    alice = await client.make_user("alice")
    st = await alice.post_status("Dzień dobry #Kraków @alice http://example.com/a?b=1.")
    assert st["account"]["username"] == "alice"
    assert 'href="http://testserver/tags/kraków"' in st["content"]
    r = await client.get(f"/api/v1/statuses/{st['id']}")
    assert r.status_code == 200
    assert r.json()["content"] == st["content"]
    r = await alice.get("/api/v1/timelines/home")
    assert [s["id"] for s in r.json()] == [st["id"]]
    r = await alice.get("/api/v1/accounts/verify_credentials")
    assert r.json()["statuses_count"] == 1
