import csv
import io

import pytest
from django.conf import settings
from django.urls import reverse

from amparo.accounts.roles import Role
from amparo.directory import services
from amparo.directory.models import AttorneyProfile
from amparo.hotline import referrals
from amparo.hotline.models import Case
from tests.hotline.factories import attorney, intake, person, signed_in

pytestmark = pytest.mark.django_db


def test_ranking_weighs_language_then_place_then_specialty():
    attorney("county_only", languages="es", counties="Maricopa")
    attorney("facility", languages="es", facilities="Eloy Detention Center")
    attorney("court_and_bond", languages="es", courts="Eloy", specialties="bond")
    needs = services.CaseNeeds(
        languages=("ES",),
        facility="eloy detention center",
        court="Eloy",
        county="Maricopa",
        specialty="bond",
    )
    ranked = services.rank_attorneys(needs)
    assert [s.profile.attorney.username for s in ranked] == [
        "court_and_bond",
        "facility",
        "county_only",
    ]
    assert ranked[0].reasons == ["language", "court", "specialty"]


def test_ranking_skips_full_and_paused_attorneys_and_counts_open_cases():
    busy = attorney("busy", capacity=1)
    attorney("paused", accepting=False)
    free = attorney("free", capacity=2)
    case = intake().case
    case.assigned_attorney = busy
    case.save()
    ranked = services.rank_attorneys(services.CaseNeeds(languages=("es",)))
    assert [s.profile.attorney for s in ranked] == [free]
    Case.objects.filter(pk=case.pk).update(status="closed")
    ranked = services.rank_attorneys(services.CaseNeeds(languages=("es",)))
    assert {s.profile.attorney for s in ranked} == {free, busy}


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x")', "+1 555 0100", "-2", "@SUM(A1)", "\tx"])
def test_export_defuses_formulas_and_import_restores_them(cell):
    lawyer = attorney("ana", phone=cell[:40])
    exported = services.export_csv()
    [row] = list(csv.DictReader(io.StringIO(exported)))
    assert row["phone"].startswith("'")
    AttorneyProfile.objects.filter(attorney=lawyer).update(phone="")
    report = services.import_csv(exported)
    assert report.updated == ["ana"]
    assert AttorneyProfile.objects.get(attorney=lawyer).phone == cell.strip()[:40]


def test_import_updates_attorneys_and_reports_bad_rows():
    attorney("ana", languages="en")
    person("vol", Role.HOTLINE)
    text = (
        "username,languages,counties,facilities,specialties,capacity,accepting\n"
        "ana,es; en,Maricopa; Pinal,Eloy Detention Center,bond; detention,4,yes\n"
        "vol,es,,,,2,yes\n"
        "nobody,es,,,,2,yes\n"
        "ana,es,,,,many,yes\n"
    )
    report = services.import_csv(text)
    assert report.updated == ["ana"]
    assert report.problems == [
        "row 3: 'vol' is not an attorney",
        "row 4: no account named 'nobody'",
        "row 5: capacity 'many' is not a number",
    ]
    profile = AttorneyProfile.objects.get(attorney__username="ana")
    assert profile.language_list() == ["es", "en"]
    assert profile.county_list() == ["Maricopa", "Pinal"]
    assert profile.capacity == 4


def test_import_and_export_pages_for_coordinators():
    attorney("ana")
    coordinator = signed_in(person("coord", Role.COORDINATOR))
    exported = coordinator.get(reverse("directory:export"))
    assert exported["Content-Type"].startswith("text/csv")
    assert b"ana" in exported.content
    upload = io.BytesIO(b"username,capacity\nana,7\n")
    upload.name = "directory.csv"
    page = coordinator.post(reverse("directory:import"), {"csv_file": upload})
    assert "1 profile updated" in page.content.decode()
    assert AttorneyProfile.objects.get().capacity == 7


def test_an_attorney_edits_only_their_own_profile():
    lawyer = attorney("ana", languages="en")
    client = signed_in(lawyer)
    response = client.post(
        reverse("directory:my_profile"),
        {
            "languages_chosen": ["es", "en"],
            "specialties_chosen": ["bond"],
            "counties": "Pima",
            "courts": "",
            "facilities": "Florence",
            "capacity": "2",
            "accepting": "on",
            "phone": "",
        },
    )
    assert response.status_code == 302
    profile = AttorneyProfile.objects.get(attorney=lawyer)
    assert (profile.language_list(), profile.specialty_list()) == (["es", "en"], ["bond"])


def test_accepting_cases_with_no_place_is_said_plainly_and_nothing_is_lost():
    lawyer = attorney("ana", languages="en")
    client = signed_in(lawyer)
    page = client.get(reverse("directory:my_profile")).content.decode()
    # The language and specialty choices are groups, each named by a legend.
    assert "<legend>Languages you work in</legend>" in page
    assert "<legend>Specialties</legend>" in page
    answer = client.post(
        reverse("directory:my_profile"),
        {
            "languages_chosen": ["es"],
            "counties": "Pima",
            "capacity": "0",
            "accepting": "on",
        },
    )
    assert answer.status_code == 200
    text = answer.content.decode()
    assert "with 0, no case is offered to you" in text
    assert "Pima</textarea>" in text
    assert AttorneyProfile.objects.get(attorney=lawyer).language_list() == ["en"]
    paused = client.post(
        reverse("directory:my_profile"), {"languages_chosen": ["es"], "capacity": "0"}
    )
    assert paused.status_code == 302
    assert AttorneyProfile.objects.get(attorney=lawyer).accepting is False


def test_people_read_names_not_codes_in_their_own_language():
    attorney("ana", languages="es,ht", specialties="bond\ndetention", counties="Pinal")
    case = intake(county="Pinal").case
    coordinator = signed_in(person("coord", Role.COORDINATOR))
    listing = coordinator.get(reverse("directory:list")).content.decode()
    assert "<td>Spanish, Haitian Creole</td>" in listing
    assert "<td>Bond hearings, Detention and custody</td>" in listing

    page = coordinator.get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert "languages: Spanish, Haitian Creole" in page
    assert "matches: language, county, specialty" in page
    coordinator.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    page = coordinator.get(reverse("hotline:case", args=[case.pk])).content.decode()
    assert "idioma, condado, especialidad" in page
    assert "language, county" not in page
    (suggestion,) = referrals.suggestions_for(case)
    assert suggestion.reasons == ["language", "county", "specialty"]  # codes, as they were
