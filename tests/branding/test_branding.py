"""The company's own portal: what the admin sets (both languages) is what every portal page,
every message and the access package show; the logo is checked by content and size; only the
roles the role table names may edit it."""

import io
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from dsar.branding.models import Branding
from dsar.exports.package import SystemData, build_zip
from dsar.legal import decisions
from dsar.notifications.models import MessageChannel, OutboundEmail
from dsar.portal import services as portal_services
from dsar.workflow.models import RightsRequest, Status
from tests.support.subject import open_pages, receipt_sent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
CHANGE = "/admin/branding/branding/1/change/"
ADD = "/admin/branding/branding/add/"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.DSAR_SMS_DIR = str(tmp_path / "sms")
    return tmp_path


@pytest.fixture
def company(media):
    row = Branding(
        name_zh="顺风出行",
        name_en="Swift Rides",
        privacy_url_zh="https://rides.example/zh/privacy",
        privacy_url_en="https://rides.example/en/privacy",
        contact_email="privacy@rides.example",
        contact_phone="400-800-1234",
        contact_address_zh="上海市浦东新区世纪大道1号",
        contact_address_en="1 Century Avenue, Pudong, Shanghai",
        complaint_contact_zh="投诉：dpo@rides.example",
        complaint_contact_en="Complaints: dpo@rides.example",
    )
    row.logo.save("logo.png", ContentFile(PNG), save=False)
    row.save()
    return row


def admin_form(**overrides):
    return {
        "name_zh": "顺风出行",
        "name_en": "Swift Rides",
        "privacy_url_zh": "",
        "privacy_url_en": "",
        "contact_email": "privacy@rides.example",
        "contact_phone": "",
        "contact_address_zh": "",
        "contact_address_en": "",
        "complaint_contact_zh": "",
        "complaint_contact_en": "",
        **overrides,
    }


def login(client, user):
    user.is_staff = True  # the admin site's own gate; the role table decides the rest
    user.save()
    client.force_login(user)


@pytest.mark.parametrize(
    ("language", "name", "privacy", "address", "complaint"),
    [
        ("en", "Swift Rides", "/en/privacy", "1 Century Avenue", "Complaints: dpo@rides.example"),
        ("zh-hans", "顺风出行", "/zh/privacy", "上海市浦东新区", "投诉：dpo@rides.example"),
    ],
)
def test_every_portal_page_shows_the_company(
    client, company, language, name, privacy, address, complaint
):
    client.cookies["django_language"] = language
    for url in ["/", "/request/access/", "/requests/lookup/"]:
        page = client.get(url).content.decode()
        assert f"<span>{name}</span>" in page, url
        assert privacy in page and address in page and "400-800-1234" in page, url
        assert complaint in page and "privacy@rides.example" in page, url
        assert f'src="/brand/logo/{company.updated_at:%Y%m%d%H%M%S%f}/"' in page, url


def test_without_branding_the_portal_names_itself_as_before(client):
    client.cookies["django_language"] = "en"
    page = client.get("/").content.decode()
    assert "<span>Personal information rights</span>" in page
    assert "/brand/logo/" not in page and "Contact us" not in page


def test_the_logo_is_served_with_the_type_of_its_content(client, company):
    response = client.get("/brand/logo/anything/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == PNG


def test_no_logo_is_404(client, media):
    assert client.get("/brand/logo/x/").status_code == 404


def test_the_admin_role_sets_the_branding_in_the_admin(client, staff_user, media):
    login(client, staff_user("admin"))
    logo = SimpleUploadedFile("logo.png", PNG, content_type="image/png")
    response = client.post(ADD, {**admin_form(), "logo": logo})
    assert response.status_code == 302
    row = Branding.objects.get()
    assert (row.pk, row.name_en) == (1, "Swift Rides")
    assert client.get("/admin/branding/branding/").url == CHANGE  # the one row, no list
    assert client.get(ADD).status_code == 403  # a second row cannot be added
    response = client.post(CHANGE, admin_form(name_en="Swift Rides Ltd"))
    assert response.status_code == 302
    assert Branding.objects.get().name_en == "Swift Rides Ltd"
    assert Branding.objects.get().logo  # kept when not uploaded again


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("logo.svg", SVG, "Upload a PNG, JPEG or WebP image."),
        ("logo.png", b"GIF89a" + b"\x00" * 64, "Upload a PNG, JPEG or WebP image."),
        ("logo.png", PNG + b"\x00" * 200 * 1024, "The logo is too large; the limit is 200 KB."),
    ],
)
def test_a_bad_logo_is_refused_and_nothing_is_saved(
    client, staff_user, media, name, content, message
):
    login(client, staff_user("admin"))
    logo = SimpleUploadedFile(name, content, content_type="image/png")
    response = client.post(ADD, {**admin_form(), "logo": logo}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Branding.objects.exists()


@pytest.mark.parametrize("role", ["agent", "legal", "supervisor"])
def test_other_roles_cannot_edit_the_branding(client, staff_user, company, role):
    login(client, staff_user(role))
    assert client.get(CHANGE).status_code == 403
    assert client.post(CHANGE, admin_form(name_en="Hijacked")).status_code == 403
    assert Branding.objects.get().name_en == "Swift Rides"


@pytest.mark.parametrize(
    ("language", "lines"),
    [
        ("en", ["Swift Rides", "Email: privacy@rides.example", "Phone: 400-800-1234",
                "Post: 1 Century Avenue, Pudong, Shanghai",
                "Privacy policy: https://rides.example/en/privacy"]),
        ("zh-hans", ["顺风出行", "邮箱：privacy@rides.example", "电话：400-800-1234",
                     "地址：上海市浦东新区世纪大道1号",
                     "隐私政策：https://rides.example/zh/privacy"]),
    ],
)  # fmt: skip
def test_every_email_is_signed_with_the_company(company, language, lines):
    request = portal_services.file_request(
        type="access", email="rider@example.com", phone="", full_name="Li Lei",
        account_id="", description="", corrections=[], language=language, ip="127.0.0.9",
    )  # fmt: skip
    receipt_sent(request.pk)
    emails = OutboundEmail.objects.filter(request_id=request.pk)
    assert {e.template for e in emails} >= {"receipt", "code"}
    for email in emails:
        assert email.body.rstrip("\n").endswith("-- \n" + "\n".join(lines)), email.template


def test_a_text_message_carries_the_company_as_its_signature(company):
    request = portal_services.file_request(
        type="access", email="", phone="13912345678", full_name="", account_id="",
        description="", corrections=[], language="zh-hans", ip="127.0.0.9",
    )  # fmt: skip
    receipt_sent(request.pk)
    texts = OutboundEmail.objects.filter(request_id=request.pk, channel=MessageChannel.SMS)
    assert texts and all(t.body.startswith("【顺风出行】") for t in texts)


def test_a_denial_names_the_company_complaint_address(client, company, make_request, staff_user):
    request = make_request(status=Status.IN_REVIEW, language="en")
    decisions.deny_request(
        request=request, user=staff_user("legal"), basis="abuse_of_rights",
        explanation="Repeated request.",
    )  # fmt: skip
    email = OutboundEmail.objects.get(request_id=request.pk, template="decision_denied")
    assert "write to us at Complaints: dpo@rides.example" in email.body
    client.cookies["django_language"] = "en"
    page = open_pages(client, RightsRequest.objects.get(pk=request.pk))
    text = page.get(f"/requests/{request.pk}/").content.decode()
    assert "write to us at Complaints: dpo@rides.example" in text


def test_the_export_says_who_it_is_from(company):
    system = SystemData.from_rows(name="crm", categories=[], rows=[{"name": "Li"}], excluded=[])
    archive = zipfile.ZipFile(io.BytesIO(build_zip(reference="DSAR-2026-000001", systems=[system])))
    readme = archive.read("README.txt").decode()
    assert "顺风出行\n邮箱：privacy@rides.example" in readme
    assert "Swift Rides\nEmail: privacy@rides.example" in readme
    assert "顺风出行<br>邮箱：privacy@rides.example" in archive.read("index.html").decode()
    english = archive.read("index.en.html").decode()
    assert "Swift Rides<br>Email: privacy@rides.example" in english
    assert "Privacy policy: https://rides.example/en/privacy" in english
