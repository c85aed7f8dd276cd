"""Surveys: statistics of the responses, and the admin password."""

from __future__ import annotations

import argparse
import json

from core.errors import UserError


def register(sub) -> None:
    """The ``survey-stats`` command's options."""
    p = sub.add_parser("survey-stats", help="statistics of a listening survey's responses (CSV)")
    p.add_argument("file", nargs="?", help="responses CSV: long layout, wide layout with --key, 2AFC (human_position, "
                                           "chosen_position) or arena (participant, source_a, source_b, winner)")
    p.add_argument("--key", help="answer key CSV (clip, truth[, group]) for a wide, one-row-per-respondent file")
    p.add_argument("--survey", type=int, help="read the responses of this survey from the survey database")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--full", action="store_true", help="add the mixed model, demographics and pairwise tests")
    p.add_argument("--exclude-failed-catch", action="store_true", help="leave out participants who failed a catch clip")
    p.add_argument("--min-listening-ms", type=float, help="leave out participants whose median listening is shorter")
    p.add_argument("--exclude-failed-headphones", action="store_true",
                   help="leave out participants who failed the headphone check (headphone_passed column)")
    p.add_argument("--exclude-failed-checks", action="store_true",
                   help="both of the above exclusions: what the Results page's 'exclude who failed a check' does")
    p.add_argument("--margin", type=float, default=None,
                   help="equivalence margin M (at most 0.25): TOST of accuracy against 0.5 +/- M. Default: the "
                        "margin the survey was built with (pre-registered; a CSV export carries it), else 0.1; "
                        "any other is reported as exploratory")
    p.set_defaults(func=_cmd_survey_stats)


def register_admin(sub) -> None:
    """The ``admin-password`` command's options."""
    p = sub.add_parser("admin-password", help="make the survey admin password if none is set, and print it once")
    p.add_argument("--reset", action="store_true", help="replace the current password with a new one")
    p.set_defaults(func=_cmd_admin_password)


def _cmd_survey_stats(args: argparse.Namespace) -> int:
    from core.survey.paired_io import read_any
    from core.survey.stats.arena import is_arena
    from core.survey.stats.breakdown import check_min_listening
    from core.survey.stats.checks import exclude_failed
    from core.survey.stats.equivalence import (
        MAX_EXPLORATORY_MARGIN,
        check_margin,
        label_headline,
        margin_choice,
        preregistered,
    )
    from core.survey.stats.report import analyse, report

    check_min_listening(args.min_listening_ms)
    if args.margin is not None:
        check_margin(args.margin, MAX_EXPLORATORY_MARGIN)  # refused before any file is read
    if args.survey is not None:
        if args.file:
            raise UserError("Give either a responses CSV or --survey ID, not both.")
        from survey_db.screening import survey_responses

        df, _ = survey_responses(args.survey)
    elif not args.file:
        raise UserError("Give a responses CSV or --survey ID: python -m core survey-stats FILE.csv --json.")
    else:
        df = read_any(args.file, args.key)
    catch = args.exclude_failed_catch or args.exclude_failed_checks
    phones = args.exclude_failed_headphones or args.exclude_failed_checks
    df, excluded = exclude_failed(df, catch, phones, args.min_listening_ms)
    if df.empty:
        raise UserError("Every participant was excluded: nothing is left to analyse.")
    if is_arena(df):
        return _print_arena(df, excluded, args)
    choice = margin_choice(args.margin, preregistered(df))
    result = {**label_headline(analyse(df, choice["margin"], args.full), choice),
              "excluded": excluded.to_dict("records")}
    print(json.dumps(result, indent=2, allow_nan=False) if args.json else report(result))
    return 0


def _print_arena(df, excluded, args: argparse.Namespace) -> int:
    """The arena's Bradley-Terry leaderboard (JSON or text); it has no equivalence test, so no margin."""
    from core.survey.stats.arena import arena_summary, leaderboard_text

    if args.margin is not None:
        raise UserError("An arena survey ranks sources and has no equivalence test: leave out --margin.")
    result = {**arena_summary(df), "excluded": excluded.to_dict("records")}
    print(json.dumps(result, indent=2, allow_nan=False) if args.json else leaderboard_text(result))
    return 0


def _cmd_admin_password(args: argparse.Namespace) -> int:
    from core.admin import config_path, ensure_password

    if args.reset:
        config_path().unlink(missing_ok=True)
    password = ensure_password()
    if password is None:
        print(f"The survey admin password is set (its hash is in {config_path()}); --reset makes a new one.")
    else:
        print(f"Survey admin password (shown once, only its hash is stored in {config_path()}): {password}")
    return 0
