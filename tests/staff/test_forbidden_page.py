"""A page a role may not see: not linked for that role, and refused inside the staff layout."""

import pytest
from django.test import Client

DASHBOARD = 'href="/staff/dashboard/"'


@pytest.mark.django_db
@pytest.mark.parametrize("role, linked", [("agent", False), ("supervisor", True), ("legal", True)])
def test_the_dashboard_link_is_shown_only_to_roles_that_may_open_it(
    client, staff_user, role, linked
):
    client.force_login(staff_user(role))
    assert (DASHBOARD in client.get("/staff/").content.decode()) is linked
    assert client.get("/staff/dashboard/").status_code == (200 if linked else 403)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "language, title, text",
    [
        ("zh-hans", "无权访问", "您的角色无权使用此页面或操作"),
        ("en", "Not allowed", "Your role does not allow this page or action"),
    ],
)
def test_a_refused_staff_page_is_translated_and_inside_the_staff_layout(
    staff_user, language, title, text
):
    client = Client(headers={"accept-language": language})
    client.force_login(staff_user("agent"))
    response = client.get("/staff/dashboard/")
    page = response.content.decode()
    assert response.status_code == 403
    assert f'<html lang="{language}">' in page and "staff/staff.css" in page
    assert f'<h1 id="h-forbidden">{title}</h1>' in page and text in page
    assert 'href="/staff/"' in page and "agent-user" in page  # the staff bar, the back link
    assert DASHBOARD not in page


@pytest.mark.django_db
def test_an_account_without_a_role_gets_the_page_without_the_staff_links(client, staff_user):
    client.force_login(staff_user("none"))
    response = client.get("/staff/")
    page = response.content.decode()
    assert response.status_code == 403 and "此账号没有任何工作人员角色" in page
    assert "?assignee=me" not in page and DASHBOARD not in page
