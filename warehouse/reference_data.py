"""Names, places, merchants and campaigns the synthetic generator draws from.

Email domains are the reserved example domains (RFC 2606), so generated addresses can never reach
a real inbox.
"""

from __future__ import annotations

COUNTRY_WEIGHTS = {
    "DE": 0.24, "FR": 0.17, "ES": 0.12, "IT": 0.10, "NL": 0.08, "GB": 0.13, "US": 0.11, "CA": 0.05,
}
CURRENCY = {
    "DE": "EUR", "FR": "EUR", "ES": "EUR", "IT": "EUR", "NL": "EUR", "GB": "GBP", "US": "USD",
    "CA": "CAD",
}
# Units of local currency per euro, to keep amounts comparable in size across countries.
FX_PER_EUR = {"EUR": 1.0, "GBP": 0.85, "USD": 1.08, "CAD": 1.47}
PHONE_PREFIX = {
    "DE": "+4915", "FR": "+336", "ES": "+346", "IT": "+393", "NL": "+316", "GB": "+447",
    "US": "+1", "CA": "+1",
}
# Main language, then (language, share) of speakers of another language.
LANGUAGE = {
    "DE": ("de", ("en", 0.05)), "FR": ("fr", ("en", 0.04)), "ES": ("es", ("en", 0.05)),
    "IT": ("it", ("en", 0.04)), "NL": ("nl", ("en", 0.25)), "GB": ("en", ("en", 0.0)),
    "US": ("en", ("es", 0.09)), "CA": ("en", ("fr", 0.22)),
}
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")

FIRST_NAMES = {
    "DE": (
        ("Anna", "Lena", "Sophie", "Marie", "Laura", "Julia", "Katharina", "Hannah", "Lea", "Sarah",
         "Claudia", "Sabine", "Petra", "Ursula", "Monika", "Johanna", "Emilia", "Mia"),
        ("Lukas", "Jonas", "Leon", "Maximilian", "Felix", "Paul", "Thomas", "Michael", "Andreas",
         "Stefan", "Jürgen", "Klaus", "Wolfgang", "Finn", "Tobias", "Matthias", "Jan", "Niklas"),
    ),
    "FR": (
        ("Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Claire", "Isabelle",
         "Nathalie", "Sophie", "Marie", "Emma", "Louise", "Anne", "Céline", "Élodie", "Margaux"),
        ("Lucas", "Hugo", "Louis", "Thomas", "Nicolas", "Julien", "Antoine", "Pierre", "Philippe",
         "Alain", "Jean", "Mathis", "Théo", "Maxime", "Baptiste", "François", "Olivier", "Paul"),
    ),
    "ES": (
        ("Lucía", "María", "Paula", "Laura", "Carmen", "Ana", "Marta", "Sofía", "Elena", "Isabel",
         "Cristina", "Pilar", "Alba", "Nuria", "Rocío", "Sara", "Irene", "Claudia"),
        ("Hugo", "Pablo", "Daniel", "Alejandro", "Javier", "David", "Carlos", "José", "Manuel",
         "Antonio", "Sergio", "Álvaro", "Diego", "Jorge", "Raúl", "Mario", "Adrián", "Iván"),
    ),
    "IT": (
        ("Giulia", "Sofia", "Aurora", "Martina", "Chiara", "Francesca", "Sara", "Valentina",
         "Alessia", "Elena", "Federica", "Paola", "Laura", "Anna", "Giorgia", "Silvia", "Maria",
         "Beatrice"),
        ("Leonardo", "Francesco", "Alessandro", "Lorenzo", "Matteo", "Andrea", "Marco", "Luca",
         "Giuseppe", "Giovanni", "Roberto", "Stefano", "Davide", "Simone", "Paolo", "Antonio",
         "Riccardo", "Tommaso"),
    ),
    "NL": (
        ("Emma", "Julia", "Sophie", "Lotte", "Fleur", "Anouk", "Sanne", "Lisa", "Eva", "Iris",
         "Femke", "Maaike", "Ingrid", "Marieke", "Noor", "Sara", "Tess", "Lieke"),
        ("Daan", "Sem", "Lucas", "Levi", "Bram", "Thijs", "Jeroen", "Pieter", "Sander", "Ruben",
         "Joost", "Wouter", "Kees", "Martijn", "Niels", "Stijn", "Tim", "Bas"),
    ),
    "GB": (
        ("Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophie", "Charlotte", "Lucy", "Hannah",
         "Rebecca", "Sarah", "Emma", "Claire", "Helen", "Jessica", "Grace", "Megan", "Chloe"),
        ("Oliver", "George", "Harry", "Jack", "James", "William", "Thomas", "Daniel", "Matthew",
         "David", "Paul", "Richard", "Mark", "Andrew", "Samuel", "Joseph", "Callum", "Ryan"),
    ),
    "US": (
        ("Emily", "Madison", "Olivia", "Ashley", "Jessica", "Sarah", "Jennifer", "Ava", "Mia",
         "Isabella", "Abigail", "Hannah", "Elizabeth", "Megan", "Lauren", "Samantha", "Maria",
         "Grace"),
        ("Michael", "James", "John", "Robert", "David", "William", "Christopher", "Daniel",
         "Matthew", "Joshua", "Andrew", "Ethan", "Jacob", "Tyler", "Brandon", "Kevin", "Jose",
         "Noah"),
    ),
    "CA": (
        ("Emma", "Olivia", "Chloé", "Sophie", "Emily", "Léa", "Charlotte", "Ava", "Madison",
         "Sarah", "Julie", "Megan", "Isabelle", "Hannah", "Claire", "Jessica", "Amélie", "Grace"),
        ("Liam", "Noah", "William", "Ethan", "Benjamin", "Lucas", "Samuel", "Alexandre", "Gabriel",
         "Logan", "Jacob", "Nathan", "Olivier", "Félix", "Ryan", "Owen", "Mathieu", "Dylan"),
    ),
}

LAST_NAMES = {
    "DE": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
           "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
           "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Werner"),
    "FR": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
           "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
           "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier"),
    "ES": ("García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez",
           "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno",
           "Muñoz", "Álvarez", "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez",
           "Vázquez"),
    "IT": ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
           "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano",
           "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro", "Mariani"),
    "NL": ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
           "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters",
           "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits",
           "de Graaf"),
    "GB": ("Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
           "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
           "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel"),
    "US": ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
           "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
           "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "Nguyen"),
    "CA": ("Smith", "Brown", "Tremblay", "Martin", "Roy", "Wilson", "MacDonald", "Gagnon",
           "Johnson", "Taylor", "Côté", "Campbell", "Anderson", "Leblanc", "Lee", "Bouchard",
           "Gauthier", "Morin", "Thompson", "White", "Lavoie", "Fortin", "Li", "Singh"),
}

# (region, city, weight) per country.
PLACES = {
    "DE": (("Berlin", "Berlin", 5), ("Bavaria", "Munich", 4), ("Hamburg", "Hamburg", 3),
           ("North Rhine-Westphalia", "Cologne", 3), ("North Rhine-Westphalia", "Düsseldorf", 2),
           ("Hesse", "Frankfurt am Main", 2.5), ("Baden-Württemberg", "Stuttgart", 2),
           ("Saxony", "Leipzig", 1.5), ("Saxony", "Dresden", 1.2),
           ("Lower Saxony", "Hanover", 1.3)),
    "FR": (("Île-de-France", "Paris", 6), ("Auvergne-Rhône-Alpes", "Lyon", 3),
           ("Provence-Alpes-Côte d'Azur", "Marseille", 2.5), ("Occitanie", "Toulouse", 2),
           ("Provence-Alpes-Côte d'Azur", "Nice", 1.5), ("Pays de la Loire", "Nantes", 1.5),
           ("Grand Est", "Strasbourg", 1.2), ("Nouvelle-Aquitaine", "Bordeaux", 1.8),
           ("Hauts-de-France", "Lille", 1.5)),
    "ES": (("Community of Madrid", "Madrid", 6), ("Catalonia", "Barcelona", 5),
           ("Valencian Community", "Valencia", 2.5), ("Andalusia", "Seville", 2),
           ("Aragon", "Zaragoza", 1.2), ("Andalusia", "Málaga", 1.5),
           ("Basque Country", "Bilbao", 1.3), ("Balearic Islands", "Palma", 1)),
    "IT": (("Lazio", "Rome", 5), ("Lombardy", "Milan", 5), ("Campania", "Naples", 3),
           ("Piedmont", "Turin", 2.5), ("Sicily", "Palermo", 1.8), ("Liguria", "Genoa", 1.3),
           ("Emilia-Romagna", "Bologna", 1.8), ("Tuscany", "Florence", 1.6),
           ("Veneto", "Venice", 1)),
    "NL": (("North Holland", "Amsterdam", 5), ("South Holland", "Rotterdam", 3.5),
           ("South Holland", "The Hague", 2.5), ("Utrecht", "Utrecht", 2),
           ("North Brabant", "Eindhoven", 1.5), ("Groningen", "Groningen", 1.2),
           ("Gelderland", "Nijmegen", 1)),
    "GB": (("England", "London", 8), ("England", "Manchester", 2.5),
           ("England", "Birmingham", 2.5), ("Scotland", "Glasgow", 1.5),
           ("Scotland", "Edinburgh", 1.5), ("England", "Leeds", 1.5), ("England", "Bristol", 1.3),
           ("Wales", "Cardiff", 1), ("Northern Ireland", "Belfast", 0.8)),
    "US": (("California", "Los Angeles", 4), ("California", "San Francisco", 2.5),
           ("New York", "New York", 6), ("Texas", "Houston", 2.5), ("Texas", "Austin", 1.5),
           ("Illinois", "Chicago", 3), ("Florida", "Miami", 2), ("Washington", "Seattle", 1.8),
           ("Massachusetts", "Boston", 1.6), ("Georgia", "Atlanta", 1.5),
           ("California", "San Diego", 1.5)),
    "CA": (("Ontario", "Toronto", 5), ("Quebec", "Montreal", 4), ("British Columbia",
           "Vancouver", 3), ("Alberta", "Calgary", 2), ("Ontario", "Ottawa", 1.5),
           ("Alberta", "Edmonton", 1.5), ("Quebec", "Quebec City", 1)),
}

# Merchants per category, cheapest first; the generator picks a merchant tier from the amount.
MERCHANTS = {
    "groceries": ("Lidl", "Aldi", "Netto", "Carrefour Market", "Mercadona", "Tesco", "Albert Heijn",
                  "Esselunga", "Rewe", "Sainsbury's", "Edeka", "Walmart", "Whole Foods Market",
                  "Waitrose", "Monoprix"),
    "dining": ("McDonald's", "Burger King", "Subway", "Starbucks", "KFC", "Pret A Manger",
               "Uber Eats", "Deliveroo", "Just Eat", "Wagamama", "Vapiano", "Le Pain Quotidien",
               "Local bistro", "Sushi bar", "Fine dining restaurant"),
    "travel": ("Ryanair", "easyJet", "FlixBus", "Deutsche Bahn", "SNCF", "Trenitalia", "Renfe",
               "Uber", "Booking.com", "Airbnb", "Lufthansa", "Air France", "British Airways",
               "Hilton", "Marriott"),
    "shopping": ("Primark", "Action", "Decathlon", "H&M", "Zara", "IKEA", "MediaMarkt",
                 "Amazon", "Zalando", "Fnac", "El Corte Inglés", "Apple Store",
                 "Galeries Lafayette",
                 "Harrods", "KaDeWe"),
    "entertainment": ("Spotify", "Netflix", "Disney+", "Steam", "PlayStation Store",
                      "Cinema", "Eventim", "Ticketmaster", "Concert hall", "Theatre",
                      "Fitness First", "Theme park"),
    "utilities": ("Vodafone", "Orange", "Telefónica", "E.ON", "EDF", "Iberdrola", "Enel",
                  "Vattenfall", "British Gas", "Con Edison", "Water utility"),
    "rent": ("Landlord", "Property management", "Housing association"),
    "transfer": ("Friend (P2P)", "Family (P2P)", "Own savings account", "Loan repayment",
                 "Mortgage repayment"),
    "investment": ("Savings plan ETF", "Stock purchase", "Fund subscription"),
    "crypto": ("Coinbase", "Kraken", "Binance", "Bitpanda"),
    "fees": ("Account fee", "Foreign exchange fee", "Card fee", "Overdraft interest"),
    "cash": ("ATM",),
    "salary": ("Employer payroll",),
}
EMPLOYERS = ("Siemens", "Allianz", "BNP Paribas", "Telefónica", "Enel", "Philips", "Unilever",
             "Tesco PLC", "Amazon", "Accenture", "Deloitte", "Local government", "Hospital trust",
             "University", "Bosch", "L'Oréal", "Airbus", "Ikea", "Santander", "Shopify")
GIG_PLATFORMS = ("Uber payout", "Deliveroo payout", "Upwork", "Fiverr", "Etsy payments",
                 "Airbnb host payout", "Client invoice")
PENSION_PAYERS = {
    "DE": "Deutsche Rentenversicherung", "FR": "Assurance retraite", "ES": "Seguridad Social",
    "IT": "INPS", "NL": "SVB AOW", "GB": "DWP State Pension", "US": "Social Security",
    "CA": "Canada Pension Plan",
}
BENEFIT_PAYERS = {
    "DE": "Bundesagentur für Arbeit", "FR": "France Travail", "ES": "SEPE", "IT": "INPS NASpI",
    "NL": "UWV", "GB": "DWP Universal Credit", "US": "State unemployment", "CA": "Service Canada",
}
FOREIGN_COUNTRIES = ("US", "GB", "FR", "ES", "IT", "DE", "NL", "PT", "GR", "TH", "JP", "MX",
                     "TR", "HR", "CH", "AT", "AE", "ID")

# Past campaigns: (name, channel, product or None, month offset from the window start, day).
CAMPAIGNS = (
    ("Summer travel card", "email", "credit_card", 1, 14),
    ("Holiday money without fees", "push", "credit_card", 2, 3),
    ("Savings goals feature", "push", "savings", 3, 9),
    ("Back to school budgeting", "email", None, 3, 27),
    ("Autumn savings boost", "email", "savings", 4, 16),
    ("Start investing from 25", "email", "investment", 5, 7),
    ("Crypto price alerts", "push", "crypto", 5, 21),
    ("Black Friday cashback", "email", "credit_card", 6, 20),
    ("Black Friday flash", "sms", "credit_card", 6, 27),
    ("Year-end tax tips", "email", "investment", 7, 4),
    ("Christmas spending insights", "push", None, 7, 11),
    ("New Year savings resolution", "email", "savings", 8, 6),
    ("Personal loan rate cut", "email", "personal_loan", 8, 22),
    ("Mortgage rate check", "email", "mortgage", 9, 10),
    ("Security reminder", "sms", None, 9, 24),
    ("Spring investing plan", "email", "investment", 10, 12),
    ("Refer a friend", "push", None, 10, 26),
    ("Easter travel offers", "email", "credit_card", 11, 2),
    ("Loan for your home upgrade", "sms", "personal_loan", 11, 18),
    ("Summer travel card 2", "email", "credit_card", 13, 9),
    ("Crypto staking launch", "email", "crypto", 13, 23),
    ("Savings rate increase", "sms", "savings", 14, 8),
    ("App redesign tour", "push", None, 15, 1),
    ("Back to school budgeting 2", "email", None, 15, 25),
    ("Autumn investing webinar", "email", "investment", 16, 15),
    ("Win-back: we miss you", "email", None, 17, 6),
)

# Country-specific grocers and utilities, cheapest first.
GROCERS = {
    "DE": ("Aldi", "Lidl", "Netto", "Rewe", "Edeka"),
    "FR": ("Lidl", "Leclerc", "Carrefour", "Intermarché", "Monoprix"),
    "ES": ("Dia", "Lidl", "Mercadona", "Carrefour", "El Corte Inglés Supermercado"),
    "IT": ("Eurospin", "Lidl", "Conad", "Coop", "Esselunga"),
    "NL": ("Lidl", "Aldi", "Jumbo", "Albert Heijn", "Marqt"),
    "GB": ("Aldi", "Lidl", "Tesco", "Sainsbury's", "Waitrose"),
    "US": ("Walmart", "Aldi", "Kroger", "Target", "Whole Foods Market"),
    "CA": ("No Frills", "Walmart", "Loblaws", "Metro", "Sobeys"),
}
ENERGY = {
    "DE": "E.ON", "FR": "EDF", "ES": "Iberdrola", "IT": "Enel", "NL": "Vattenfall",
    "GB": "British Gas", "US": "Con Edison", "CA": "Hydro One",
}
TELECOM = {
    "DE": "Deutsche Telekom", "FR": "Orange", "ES": "Movistar", "IT": "TIM", "NL": "KPN",
    "GB": "BT", "US": "Verizon", "CA": "Rogers",
}
SUBSCRIPTIONS = (("Spotify", 10.99), ("Netflix", 13.99), ("Disney+", 8.99),
                 ("Amazon Prime", 8.99), ("Fitness First", 29.90), ("Apple iCloud", 2.99),
                 ("Xbox Game Pass", 12.99))
# Yearly gross income in EUR typical of each income band.
INCOME_EUR = (18_000, 37_000, 70_000, 135_000, 260_000)
