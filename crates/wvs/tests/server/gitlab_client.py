"""Drives WVS's hooks API with python-gitlab, a GitLab API v4 client WVS does not control.

Usage: gitlab_client.py WVS_URL TOKEN PROJECT_ID RECEIVER_URL
Prints one line per step; exits non-zero on the first failure.
"""
import sys

import gitlab

url, token, project_id, receiver = sys.argv[1:5]
gl = gitlab.Gitlab(url, private_token=token)

project = gl.projects.get(int(project_id))
assert project.path_with_namespace == "top/mid/low/app", project.path_with_namespace
print("project", project.id, project.path_with_namespace)

hook = project.hooks.create(
    {"url": receiver + "/python", "push_events": True, "issues_events": True, "token": "py-token"}
)
assert hook.push_events and hook.issues_events and hook.token_present, hook.attributes
assert "token" not in hook.attributes or hook.attributes["token"] is None
print("created", hook.id)

hooks = project.hooks.list(get_all=True)
assert [h.id for h in hooks] == [hook.id], [h.id for h in hooks]
print("listed", len(hooks))

hook.issues_events = False
hook.name = "edited by python-gitlab"
hook.save()
again = project.hooks.get(hook.id)
assert again.issues_events is False and again.name == "edited by python-gitlab", again.attributes
print("edited", again.id)

again.test("push_events")
print("tested")

# A hook's delivery log pages the same way: five tests (the limit per minute), three pages.
for _ in range(4):
    again.test("push_events")
log_path = f"/projects/{project.id}/hooks/{again.id}/events"
logged = [row["id"] for row in gl.http_list(log_path, get_all=True, per_page=2)]
assert len(logged) == 5 and len(set(logged)) == 5, logged
assert sorted(row["id"] for row in gl.http_list(log_path, iterator=True, per_page=2)) == sorted(logged)
print("log paged")

# Three pages of two: the Link header's URLs lead to the next page, every item seen once.
extra = [project.hooks.create({"url": receiver + f"/page{n}"}) for n in range(4)]
every = sorted([again.id] + [h.id for h in extra])
assert sorted(h.id for h in project.hooks.list(get_all=True, per_page=2)) == every
assert sorted(h.id for h in project.hooks.list(iterator=True, per_page=2)) == every
for h in extra:
    h.delete()
print("paged")

again.delete()
assert project.hooks.list(get_all=True) == []
print("deleted")

# Projects page the same way: five projects, three pages of two (the new ones are created
# without a namespace, so in the admin's).
made = [gl.projects.create({"name": f"Paged {n}"}) for n in range(4)]
assert all(p.path_with_namespace.startswith("root/") for p in made), [p.path_with_namespace for p in made]
projects = sorted([project.id] + [p.id for p in made])
assert sorted(p.id for p in gl.projects.list(get_all=True, per_page=2)) == projects
assert sorted(p.id for p in gl.projects.list(iterator=True, per_page=2)) == projects
print("projects paged")

system_hook = gl.hooks.create({"url": receiver + "/python-system"})
assert [h.id for h in gl.hooks.list(get_all=True)] == [system_hook.id]
gl.hooks.delete(system_hook.id)
print("system hooks ok")
