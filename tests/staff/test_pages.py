"""Staff pages: what each role is offered, evidence review, reveal, escaping, both languages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dsar.audit.models import AuditEvent
from dsar.verification import evidence
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.mark.django_db
def test_login_required(client):
    response = client.get("/staff/")
    assert response.status_code == 302 and response["Location"].startswith("/staff/login/")


@pytest.mark.django_db
def test_a_user_without_a_role_is_refused(client, staff_user):
    client.force_login(staff_user("none"))
    assert client.get("/staff/").status_code == 403


@pytest.mark.django_db
def test_agent_reviews_evidence_and_verifies_from_the_page(client, staff_user):
    agent = staff_user("agent")
    client.force_login(agent)
    request = create_request(type="deletion", email="li@example.com", full_name="李雷")
    doc = evidence.submit_evidence(
        request=request, upload=SimpleUploadedFile("id.png", PNG, content_type="image/png")
    )
    page = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert f"/evidence/{doc.pk}/" in page
    assert "li@example.com" not in page and "李雷" not in page  # masked until revealed

    shown = client.get(f"/staff/requests/{request.pk}/evidence/{doc.pk}/")
    assert shown.content == PNG and shown["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(action="evidence.viewed", request_id=request.pk).exists()

    client.post(f"/staff/requests/{request.pk}/verify/", {"evidence_id": str(doc.pk)})
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW and request.due_at is not None
    doc.refresh_from_db()
    assert doc.file == "" and doc.purged_at is not None  # purged after the decision
    page = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert 'data-method="staff_evidence"' in page and agent.username in page


@pytest.mark.django_db
def test_agent_sends_a_code_and_verifies_with_what_the_subject_reads_back(client, staff_user):
    from tests.support.subject import read_back_code_from_outbox

    agent = staff_user("agent")
    client.force_login(agent)
    request = create_request(type="access", email="li@example.com", phone="13912345678")
    page = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert "向 l***@example.com 发送验证码" in page and "通过短信向 +86139****5678" in page
    sent = client.post(f"/staff/requests/{request.pk}/send-code/", {"channel": "email"})
    assert sent.status_code == 302
    page = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert "验证码已通过电子邮箱发送" in page and 'id="id_verify_code"' in page
    code = read_back_code_from_outbox(request.pk)
    client.post(f"/staff/requests/{request.pk}/verify/", {"code": code})
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW
    page = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert 'data-method="staff_code"' in page and agent.username in page
    assert "另一位工作人员批准" in page  # the verifier is not offered approval


@pytest.mark.django_db
def test_legal_is_not_offered_verification_and_cannot_post_it(client, staff_user):
    client.force_login(staff_user("legal"))
    request = create_request(type="deletion", email="li@example.com")
    page = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert f"/staff/requests/{request.pk}/verify/" not in page
    response = client.post(f"/staff/requests/{request.pk}/verify/", {"reason": "trust me"})
    assert response.status_code == 302
    assert RightsRequest.objects.get(pk=request.pk).status == Status.PENDING_VERIFICATION


@pytest.mark.django_db
def test_reveal_shows_identity_once_and_is_audited(client, staff_user):
    client.force_login(staff_user("agent"))
    request = create_request(type="access", email="li@example.com", full_name="李雷")
    page = client.post(f"/staff/requests/{request.pk}/reveal/").content.decode()
    assert "li@example.com" in page and "李雷" in page
    assert AuditEvent.objects.filter(action="identity.revealed").count() == 1
    assert "li@example.com" not in client.get(f"/staff/requests/{request.pk}/").content.decode()


@pytest.mark.django_db
def test_notes_are_escaped(client, make_request, staff_user):
    client.force_login(staff_user("agent"))
    request = make_request(status=Status.IN_REVIEW)
    client.post(f"/staff/requests/{request.pk}/note/", {"body": "<script>alert(1)</script>"})
    page = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page


# The navigation of every staff page and each page's own heading, in both languages.
NAVIGATION = {
    "en": ["Queue", "Mine", "Dashboard", "Log out"],
    "zh-hans": ["工单队列", "我的", "统计面板", "退出登录"],
}
HEADINGS = {
    "/staff/": {"en": "<h1>Queue</h1>", "zh-hans": "<h1>工单队列</h1>"},
    "/staff/dashboard/": {"en": "Open requests", "zh-hans": "未结请求"},
}


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "other"), [("en", "zh-hans"), ("zh-hans", "en")])
def test_pages_render_in_both_languages(client, staff_user, language, other):
    client.force_login(staff_user("supervisor"))
    for path, heading in HEADINGS.items():
        page = client.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert f'<html lang="{language}">' in page, path
        assert [w for w in [*NAVIGATION[language], heading[language]] if w not in page] == []
        assert [w for w in [*NAVIGATION[other], heading[other]] if w in page] == [], path


@pytest.mark.django_db
def test_dashboard_is_for_supervisors_legal_and_admins(client, staff_user, make_request):
    make_request(status=Status.COMPLETED)
    client.force_login(staff_user("agent"))
    assert client.get("/staff/dashboard/").status_code == 403
    client.force_login(staff_user("supervisor"))
    page = client.get("/staff/dashboard/")
    assert page.status_code == 200 and b"<svg" in page.content


@pytest.mark.django_db(transaction=True)
def test_asking_the_subject_emails_the_question_and_pauses(client, staff_user, make_request):
    from django.core import mail

    client.force_login(staff_user("agent"))
    request = make_request(status=Status.IN_REVIEW)
    mail.outbox.clear()
    client.post(f"/staff/requests/{request.pk}/request-info/", {"reason": "Which order number?"})
    request.refresh_from_db()
    assert request.status == Status.AWAITING_SUBJECT and request.paused_at is not None
    [email] = [m for m in mail.outbox if m.to == [request.email]]
    assert "Which order number?" in email.body and f"/requests/{request.pk}/#t=" in email.body
    page = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert "Which order number?" in page
    assert "Which order number?" not in str(
        list(AuditEvent.objects.values_list("payload", flat=True))
    )
