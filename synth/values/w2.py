"""W-2 values with the rules of the form: SS wages capped at the year's wage base, SS tax 6.2%,
Medicare 1.45% plus 0.9% above 200,000, box 12 D deferrals kept out of box 1 but in boxes 3/5,
state wages that add up to box 1."""

from __future__ import annotations

from decimal import Decimal

from synth.locales import money_round
from synth.values import V, ValueContext, log_uniform

# Social security wage base by tax year (SSA).
SS_WAGE_BASE = {2016: 118500, 2017: 127200, 2018: 128400, 2019: 132900, 2020: 137700, 2021: 142800,
                2022: 147000, 2023: 160200, 2024: 168600, 2025: 176100, 2026: 184500}
SS_RATE, MEDICARE_RATE, ADDL_MEDICARE_RATE = Decimal("0.062"), Decimal("0.0145"), Decimal("0.009")
ADDL_MEDICARE_THRESHOLD = Decimal(200000)
STATES = ("CA", "NY", "PA", "OH", "IL", "NJ", "GA", "NC", "MI", "VA", "MA", "MD", "WI", "MN", "CO")
LOCALITIES = {"NY": "NYC", "PA": "PHILA", "OH": "COLUMBUS", "MI": "DETROIT", "MD": "BALTIMORE"}


def medicare_tax(medicare_wages: Decimal) -> Decimal:
    """1.45% of all Medicare wages plus the 0.9% additional tax above 200,000."""
    extra = max(Decimal(0), medicare_wages - ADDL_MEDICARE_THRESHOLD) * ADDL_MEDICARE_RATE
    return money_round(medicare_wages * MEDICARE_RATE + extra)


def _amount(value: Decimal, loc) -> V:
    return V.of(loc.money(value), value) if value else V.of("", 0.0)


def _split(total: Decimal, parts: int, rng) -> list[Decimal]:
    if parts == 1:
        return [total]
    first = money_round(total * Decimal(str(rng.uniform(0.3, 0.8))))
    return [first, total - first]


def make(ctx: ValueContext) -> dict:
    loc, fake, rng = ctx.loc, ctx.loc.fake, ctx.rng
    year = rng.randint(2016, 2026)
    gross = money_round(Decimal(str(log_uniform(rng, 14000, 420000))))
    deferral = money_round(gross * Decimal(str(rng.uniform(0.02, 0.12)))) if rng.random() < 0.6 else Decimal(0)
    wages = gross - deferral  # 401(k) deferrals (12 D) are not federal wages
    medicare_wages = gross
    ss_wages = min(medicare_wages, Decimal(SS_WAGE_BASE[year]))
    box12 = []
    if deferral:
        box12.append(("D", deferral))
    if rng.random() < 0.7:
        box12.append(("DD", money_round(Decimal(str(rng.uniform(3000, 22000))))))
    if rng.random() < 0.2:
        box12.append(("W", money_round(Decimal(str(rng.uniform(300, 4000))))))
    dep_care = money_round(Decimal(str(rng.uniform(500, 5000)))) if rng.random() < 0.15 else Decimal(0)
    n_states = 2 if rng.random() < 0.25 else 1
    states = []
    for state, st_wages in zip(rng.sample(STATES, n_states), _split(wages, n_states, rng)):
        locality = LOCALITIES.get(state) if rng.random() < 0.5 else None
        local_wages = st_wages if locality else Decimal(0)
        states.append({
            "state": V.of(state),
            "employer_state_id": V.of(f"{state}{rng.randint(10**6, 10**9 - 1)}"),
            "state_wages": _amount(st_wages, loc),
            "state_income_tax": _amount(money_round(st_wages * Decimal(str(rng.uniform(0.02, 0.07)))), loc),
            "local_wages": _amount(local_wages, loc),
            "local_income_tax": _amount(money_round(local_wages * Decimal(str(rng.uniform(0.01, 0.035)))), loc),
            "locality_name": V.of(locality or ""),
        })
    employer = f"{fake.company()}\n{fake.street_address()}\n{fake.city()}, {fake.state_abbr()} {fake.zipcode()}"
    return {
        "tax_year": V.of(str(year), year),
        "employee_ssn": V.of(fake.ssn()),
        "employer_ein": V.of(fake.ein()),
        "employer_name_address": V.of(employer),
        "control_number": V.of(f"{rng.randint(0, 99999):05d}" if rng.random() < 0.6 else ""),
        "employee_name": V.of(f"{fake.first_name()} {fake.random_uppercase_letter()} {fake.last_name()}"),
        "employee_address": V.of(f"{fake.street_address()}\n{fake.city()}, {fake.state_abbr()} {fake.zipcode()}"),
        "wages": _amount(wages, loc),
        "federal_income_tax": _amount(money_round(wages * Decimal(str(rng.uniform(0.06, 0.24)))), loc),
        "social_security_wages": _amount(ss_wages, loc),
        "social_security_tax": _amount(money_round(ss_wages * SS_RATE), loc),
        "medicare_wages": _amount(medicare_wages, loc),
        "medicare_tax": _amount(medicare_tax(medicare_wages), loc),
        "social_security_tips": V.of("", 0.0),
        "allocated_tips": V.of("", 0.0),
        "dependent_care_benefits": _amount(dep_care, loc),
        "nonqualified_plans": V.of("", 0.0),
        "box12": [{"code": V.of(code), "amount": _amount(amt, loc)} for code, amt in box12],
        "statutory_employee": V.of(""),
        "retirement_plan": V.of("X" if deferral else ""),
        "third_party_sick_pay": V.of(""),
        "other": V.of(rng.choice(("", "", f"SDI {rng.randint(100, 1600)}.00", "UNION DUES"))),
        "states": states,
    }
