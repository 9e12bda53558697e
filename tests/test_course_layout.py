"""Lint source/: nbgrader metadata, one grade cell per exercise, checks for every exercise, and a plan at
the top that lists the section headings."""
import importlib
import json
import re

import nbformat
import pytest

from autograder.course import ASSIGNMENT_NAME, REPO, assignments, checks_file, source_notebook

DELIMITERS = re.compile(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS)")
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
PLAN_ITEM = re.compile(r"^(\d+)\. \*\*(.+?)\*\*", re.MULTILINE)  # 1. **Title**: what it does
SECTION = re.compile(r"^## (\d+)\. (.+)$", re.MULTILINE)  # ## 1. Title
ASSIGNMENTS = assignments()


def cells(assignment):
    return json.loads(source_notebook(assignment).read_text(encoding="utf-8"))["cells"]


def nbgrader_cells(assignment, kind):
    return [c for c in cells(assignment) if c.get("metadata", {}).get("nbgrader", {}).get(kind)]


def test_there_are_assignments():
    assert "02-bpe-tokenizer" in ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_is_valid_nbformat_without_outputs(assignment):
    notebook = nbformat.read(source_notebook(assignment), as_version=4)
    nbformat.validate(notebook)
    assert ASSIGNMENT_NAME.match(assignment)
    assert notebook.metadata.kernelspec.name == "python3"
    stored = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not stored, f"source cells {stored} keep outputs: clear them"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_nbgrader_metadata_is_well_formed(assignment):
    ids = []
    for cell in cells(assignment):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        assert meta.get("schema_version") == 3, meta
        assert GRADE_ID.match(meta.get("grade_id", "")), meta
        ids.append(meta["grade_id"])
        if meta.get("grade"):
            assert cell["cell_type"] == "code" and meta.get("locked") and not meta.get("solution"), meta
            assert isinstance(meta.get("points"), (int, float)) and meta["points"] > 0, meta
    assert len(ids) == len(set(ids)), f"duplicate grade ids in {assignment}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_delimiters_only_in_solution_cells(assignment):
    for number, cell in enumerate(cells(assignment), start=1):
        source = "".join(cell["source"])
        is_solution = cell.get("metadata", {}).get("nbgrader", {}).get("solution")
        if not is_solution:
            assert not DELIMITERS.search(source), f"cell {number} mentions an nbgrader delimiter"
            continue
        lines = [line.strip() for line in source.splitlines()]
        begins = [i for i, line in enumerate(lines) if line == "### BEGIN SOLUTION"]
        ends = [i for i, line in enumerate(lines) if line == "### END SOLUTION"]
        assert begins and len(begins) == len(ends), f"cell {number}: unbalanced solution regions"
        assert all(b < e for b, e in zip(begins, ends)) and all(e < b for e, b in zip(ends, begins[1:])), \
            f"cell {number}: nested or crossed solution regions"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_exercise_has_one_solution_cell(assignment):
    exercises = [c["metadata"]["nbgrader"]["grade_id"] for c in nbgrader_cells(assignment, "grade")]
    solutions = [c["metadata"]["nbgrader"]["grade_id"] for c in nbgrader_cells(assignment, "solution")]
    assert sorted(solutions) == sorted(f"{e}_solution" for e in exercises)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_checks_and_exercises_match(assignment):
    module = importlib.import_module(f"autograder.checks.{checks_file(assignment).stem}")
    checked = {mark.kwargs["name"] for name in dir(module) if name.startswith("test_")
               for mark in getattr(module, name).pytestmark if mark.name == "exercise"}
    unmarked = [name for name in dir(module) if name.startswith("test_")
                and not any(m.name == "exercise" for m in getattr(getattr(module, name), "pytestmark", []))]
    assert not unmarked, f"checks without @exercise: {unmarked}"
    exercises = {c["metadata"]["nbgrader"]["grade_id"] for c in nbgrader_cells(assignment, "grade")}
    assert checked == exercises


def comparable(title: str) -> str:
    return re.sub(r"[`*]", "", title).strip().rstrip("?:.").lower()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_plan_at_the_top_lists_the_section_headings(assignment):
    markdown = ["".join(c["source"]) for c in cells(assignment) if c["cell_type"] == "markdown"]
    assert "The plan:" in markdown[0], "the first cell states the plan"
    plan = PLAN_ITEM.findall(markdown[0].split("The plan:", 1)[1])
    sections = [section for text in markdown[1:] for section in SECTION.findall(text)]
    assert [number for number, _ in plan] == [number for number, _ in sections], \
        f"the plan lists {len(plan)} parts, the notebook has {len(sections)} numbered sections"
    for (number, item), (_, heading) in zip(plan, sections):
        assert comparable(heading).startswith(comparable(item)), f"plan item {number} {item!r} vs ## {heading!r}"


def test_readme_learning_map_marks_exactly_the_available_assignments():
    rows = re.findall(r"^\| \d\d \| `(\d\d-[a-z0-9-]+)` \| .* \| (available|planned) \|$",
                      (REPO / "README.md").read_text(encoding="utf-8"), re.MULTILINE)
    assert len(rows) == 21
    assert sorted(name for name, status in rows if status == "available") == ASSIGNMENTS
