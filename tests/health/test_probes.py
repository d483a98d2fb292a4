import pytest
import requests as http


def test_healthz_answers_without_touching_services(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ready_when_database_and_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_names_the_database_when_it_is_unreachable(server_process):
    base = server_process({"DATABASE_URL": "postgres://postgres:postgres@127.0.0.1:9/dsar"}).url
    response = http.get(f"{base}/readyz", timeout=10)
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unreachable", "broker": "ok"}


def test_readyz_names_the_broker_when_it_is_unreachable(server_process):
    base = server_process(
        {
            "REDIS_URL": "redis://127.0.0.1:9/0",
            "DATABASE_URL": "postgres://postgres:postgres@127.0.0.1:5432/postgres",
        }
    ).url
    response = http.get(f"{base}/readyz", timeout=10)
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "unreachable"}
