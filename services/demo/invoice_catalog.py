"""What the demo invoices are made of: providers, procedure codes with chargemaster price
ranges, and the names and places patients are drawn from. All people and facilities are
fictional; phone numbers use the reserved 555-01xx range; the codes are real CPT/HCPCS codes."""

from __future__ import annotations

from dataclasses import dataclass

VISIT = "visit"  # an evaluation and management visit: at most one per invoice
ONCE = "once"  # a procedure or study done once per episode
DAILY = "daily"  # labs, drugs, treatment fractions: repeated on each day of a stay or course


@dataclass(frozen=True)
class Procedure:
    code: str
    description: str
    low_dollars: float
    high_dollars: float
    kind: str = ONCE
    max_units: int = 1


PROCEDURES: dict[str, tuple[Procedure, ...]] = {
    "cardiology": (
        Procedure("99204", "Office visit, new patient, moderate complexity", 230, 320, VISIT),
        Procedure("99214", "Office visit, established patient, moderate complexity", 150, 225, VISIT),
        Procedure("93000", "Electrocardiogram, complete, 12-lead", 45, 95, DAILY),
        Procedure("93306", "Echocardiogram, transthoracic, complete with Doppler", 850, 1850),
        Procedure("93015", "Cardiovascular stress test with supervision and report", 420, 780),
        Procedure("93224", "Holter monitor, 48 hours, with interpretation", 280, 520),
        Procedure("93880", "Duplex scan, extracranial arteries, bilateral", 520, 980),
        Procedure("93458", "Left heart catheterization with coronary angiography", 6800, 11800),
        Procedure("92928", "Percutaneous coronary stent placement, single vessel", 14500, 24800),
        Procedure("80061", "Lipid panel", 38, 95, DAILY),
        Procedure("84484", "Troponin, quantitative", 45, 110, DAILY),
        Procedure("36415", "Routine venipuncture", 12, 28, DAILY),
        Procedure("J1644", "Heparin sodium injection, per 1,000 units", 6, 18, DAILY, 5),
    ),
    "radiology": (
        Procedure("71046", "Radiologic exam, chest, 2 views", 95, 260, DAILY),
        Procedure("70450", "CT head or brain without contrast", 650, 1450),
        Procedure("74177", "CT abdomen and pelvis with contrast", 1250, 3100),
        Procedure("71260", "CT thorax with contrast", 900, 2200),
        Procedure("70553", "MRI brain without and with contrast", 1900, 3600),
        Procedure("73721", "MRI lower extremity joint without contrast", 1100, 2400),
        Procedure("76700", "Ultrasound, abdomen, complete", 380, 820),
        Procedure("77067", "Screening mammography, bilateral, with CAD", 220, 420),
        Procedure("Q9967", "Low osmolar contrast material, per ml", 1, 3, DAILY, 100),
        Procedure("A9579", "Gadolinium-based contrast, per ml", 8, 20, DAILY, 15),
    ),
    "emergency": (
        Procedure("99283", "Emergency department visit, moderate severity", 380, 720, VISIT),
        Procedure("99284", "Emergency department visit, high severity", 650, 1250, VISIT),
        Procedure("99285", "Emergency department visit, high complexity", 1050, 2100, VISIT),
        Procedure("12002", "Simple repair of superficial wounds, 2.6 to 7.5 cm", 280, 560),
        Procedure("96374", "IV push, single or initial drug", 140, 290, DAILY),
        Procedure("96360", "IV infusion, hydration, initial hour", 190, 380, DAILY),
        Procedure("85025", "Complete blood count with automated differential", 28, 75, DAILY),
        Procedure("80053", "Comprehensive metabolic panel", 45, 130, DAILY),
        Procedure("84484", "Troponin, quantitative", 45, 110, DAILY),
        Procedure("71046", "Radiologic exam, chest, 2 views", 95, 260, DAILY),
        Procedure("J2405", "Ondansetron injection, per 1 mg", 3, 12, DAILY, 4),
        Procedure("J1885", "Ketorolac injection, per 15 mg", 4, 15, DAILY, 2),
        Procedure("J7030", "Normal saline solution infusion, 1,000 cc", 22, 65, DAILY, 2),
        Procedure("36415", "Routine venipuncture", 12, 28, DAILY),
    ),
    "nuclear_medicine": (
        Procedure("78452", "Myocardial perfusion imaging, SPECT, multiple studies", 1450, 2900),
        Procedure("78815", "PET/CT imaging, skull base to mid-thigh", 3200, 6400),
        Procedure("78306", "Bone scan, whole body", 780, 1450),
        Procedure("78014", "Thyroid uptake with imaging", 420, 880),
        Procedure("78582", "Pulmonary ventilation and perfusion imaging", 900, 1650),
        Procedure("A9500", "Technetium Tc-99m sestamibi, per study dose", 95, 260, DAILY, 2),
        Procedure("A9552", "Fluorodeoxyglucose F-18 (FDG), per study dose", 380, 920, DAILY),
        Procedure("A9503", "Technetium Tc-99m medronate, per study dose", 60, 180, DAILY),
        Procedure("93017", "Cardiovascular stress test, tracing only", 160, 320),
        Procedure("79005", "Radiopharmaceutical therapy, oral administration", 1100, 2300),
    ),
    "radiation_oncology": (
        Procedure("77263", "Radiation therapy planning, complex", 520, 980),
        Procedure("77301", "Intensity modulated radiotherapy (IMRT) planning", 3900, 7200),
        Procedure("77300", "Basic radiation dosimetry calculation", 180, 380, DAILY, 3),
        Procedure("77338", "Multi-leaf collimator device design for IMRT", 1100, 2100),
        Procedure("77385", "IMRT delivery, simple", 650, 1250, DAILY),
        Procedure("77386", "IMRT delivery, complex", 900, 1600, DAILY),
        Procedure("77336", "Continuing medical physics consultation", 210, 420),
        Procedure("77427", "Radiation treatment management, 5 treatments", 380, 720),
        Procedure("77014", "CT guidance for placement of radiation fields", 260, 520, DAILY),
    ),
    "orthopedics": (
        Procedure("99203", "Office visit, new patient, low complexity", 160, 240, VISIT),
        Procedure("73030", "Radiologic exam, shoulder, 2 or more views", 110, 240),
        Procedure("73562", "Radiologic exam, knee, 3 views", 120, 260),
        Procedure("20610", "Arthrocentesis or injection, major joint", 210, 420),
        Procedure("29881", "Knee arthroscopy with meniscectomy", 4200, 7800),
        Procedure("97110", "Therapeutic exercise, each 15 minutes", 45, 95, DAILY, 4),
        Procedure("97140", "Manual therapy techniques, each 15 minutes", 42, 90, DAILY, 3),
        Procedure("L1832", "Knee orthosis, adjustable knee joint, custom fitted", 380, 820),
        Procedure("J3301", "Triamcinolone acetonide injection, per 10 mg", 8, 24, DAILY, 4),
    ),
    "laboratory": (
        Procedure("80053", "Comprehensive metabolic panel", 45, 130, DAILY),
        Procedure("85025", "Complete blood count with automated differential", 28, 75, DAILY),
        Procedure("80061", "Lipid panel", 38, 95, DAILY),
        Procedure("83036", "Hemoglobin A1c", 32, 85, DAILY),
        Procedure("84443", "Thyroid stimulating hormone (TSH)", 45, 120, DAILY),
        Procedure("81001", "Urinalysis, automated, with microscopy", 18, 45, DAILY),
        Procedure("82306", "Vitamin D, 25-hydroxy", 95, 210, DAILY),
        Procedure("87086", "Urine culture, quantitative colony count", 38, 90, DAILY),
        Procedure("88305", "Surgical pathology, gross and microscopic, level IV", 180, 420, ONCE, 2),
        Procedure("36415", "Routine venipuncture", 12, 28, DAILY),
    ),
}
# Devices and orthotics are taxable supplies where the provider's state taxes them.
TAXABLE_PREFIXES = ("L", "E")
# How often an invoice is a long, multi-day one (a stay, a course of treatment) per department.
LONG_INVOICE_SHARE = {"radiation_oncology": 0.7, "cardiology": 0.4, "emergency": 0.35, "orthopedics": 0.25}
SHORT_ONLY_SHARE = 0.1

# (name, street, city line, area code, departments, supply tax rate, prints a billing-information page)
PROVIDERS = (
    ("St. Brendan Regional Medical Center", "1200 Harmon Avenue", "Columbus, OH 43215", "614",
     ("cardiology", "emergency", "radiology", "laboratory"), 0.0, True),
    ("Lakeshore Imaging Associates", "455 N. Lake Shore Drive, Suite 300", "Chicago, IL 60611", "312",
     ("radiology",), 0.0, False),
    ("Mercy Valley Hospital", "2823 Fresno Street", "Fresno, CA 93721", "559",
     ("emergency", "orthopedics", "laboratory"), 0.0725, True),
    ("Northgate Nuclear Medicine & PET Center", "3100 Blue Ridge Road", "Raleigh, NC 27607", "919",
     ("nuclear_medicine",), 0.0, False),
    ("Cedar Ridge Cancer Institute", "1850 Williams Street", "Denver, CO 80218", "303",
     ("radiation_oncology", "nuclear_medicine"), 0.0, True),
    ("Summit Orthopaedic & Sports Medicine", "640 E. 400 South", "Salt Lake City, UT 84102", "801",
     ("orthopedics", "radiology"), 0.0685, False),
    ("Harborview Heart & Vascular", "2901 W. Swann Avenue", "Tampa, FL 33609", "813",
     ("cardiology",), 0.06, False),
    ("Riverside Clinical Laboratory", "85 Seymour Street", "Hartford, CT 06106", "860",
     ("laboratory",), 0.0, False),
    ("Pinecrest Community Hospital", "101 W. 8th Avenue", "Spokane, WA 99204", "509",
     ("emergency", "radiology", "cardiology"), 0.065, True),
)

FIRST_NAMES = (
    "James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "William", "Elizabeth",
    "Joseph", "Susan", "Thomas", "Jessica", "Daniel", "Sarah", "Carlos", "Karen", "Anthony", "Nancy",
    "Kevin", "Lisa", "Brian", "Angela", "Priya", "Mei", "Ahmed", "Fatima", "Olga", "Kwame", "Ingrid",
    "Hiroshi", "Lucia", "Samuel", "Grace", "Diego", "Aisha", "Tomasz", "Nora", "Elijah",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez",
    "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson",
    "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "Nguyen", "Patel",
    "Kowalski", "O'Brien", "Okafor", "Lindqvist", "Tanaka", "Haddad", "Novak", "Fischer", "Mensah", "Rossi",
)
STREETS = ("Maple", "Oak", "Cedar", "Elm", "Willow", "Lincoln", "Washington", "Park", "Lakeview", "Hillcrest",
           "Sunset", "Ridge", "Meadow", "Chestnut", "River")
STREET_KINDS = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd")
PATIENT_CITIES = ("Dublin, OH 43017", "Evanston, IL 60201", "Clovis, CA 93612", "Cary, NC 27513",
                  "Aurora, CO 80012", "Sandy, UT 84070", "Clearwater, FL 33755", "New Britain, CT 06051",
                  "Spokane Valley, WA 99216", "Westerville, OH 43081")
# (payer, member-id prefix); Medicare members carry an MBI instead of a prefixed number.
PAYERS = (("Keystone Health Plan PPO", "KHP"), ("Evergreen Mutual HMO", "EVM"), ("Pinnacle Care Choice", "PNC"),
          ("Cascade Health Alliance", "CHA"), ("Medicare Part B", ""), ("State Medicaid", "MCD"))
UPLOADERS = ("billing.intake@revcycle.example", "j.okafor@revcycle.example", "r.lindqvist@revcycle.example")
SCAN_UPLOADER = "frontdesk.scanner@revcycle.example"
# A Medicare Beneficiary Identifier: C = digit 1-9, A = letter, X = letter or digit, N = digit.
MBI_PATTERN = "CAXN-AXN-AANN"
MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # S, L, O, I, B and Z are never used
