"""Word lists the demo values are drawn from: names, places, companies, products, notes.

Chinese entries carry their pinyin so that e-mail addresses, web sites and user names can
be derived from them. Lists are ordered roughly by frequency where that matters (surnames,
cities): pickers skew towards the front.
"""

from __future__ import annotations

# -- people ---------------------------------------------------------------------------------
#: The most common Chinese surnames, most frequent first, with pinyin.
ZH_SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"),
    ("潘", "pan"), ("于", "yu"), ("蒋", "jiang"), ("蔡", "cai"), ("余", "yu"), ("杜", "du"),
    ("叶", "ye"), ("程", "cheng"), ("苏", "su"), ("魏", "wei"), ("吕", "lv"), ("丁", "ding"),
    ("任", "ren"), ("沈", "shen"), ("姚", "yao"), ("卢", "lu"), ("姜", "jiang"), ("崔", "cui"),
    ("钟", "zhong"), ("谭", "tan"), ("陆", "lu"), ("汪", "wang"), ("范", "fan"), ("欧阳", "ouyang"),
)
#: Given names (one or two characters) with pinyin.
ZH_GIVEN: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"), ("霞", "xia"),
    ("平", "ping"), ("刚", "gang"), ("桂英", "guiying"), ("建华", "jianhua"), ("晓东", "xiaodong"),
    ("志强", "zhiqiang"), ("海燕", "haiyan"), ("文博", "wenbo"), ("子涵", "zihan"), ("雨桐", "yutong"),
    ("欣怡", "xinyi"), ("浩然", "haoran"), ("宇轩", "yuxuan"), ("思远", "siyuan"), ("佳琪", "jiaqi"),
    ("俊杰", "junjie"), ("晨", "chen"), ("婷", "ting"), ("鹏", "peng"), ("慧", "hui"), ("斌", "bin"),
    ("红梅", "hongmei"), ("国庆", "guoqing"), ("立新", "lixin"), ("丹", "dan"), ("琳", "lin"),
    ("凯", "kai"), ("雪", "xue"), ("博", "bo"), ("倩", "qian"), ("亮", "liang"), ("颖", "ying"),
    ("建国", "jianguo"), ("晓燕", "xiaoyan"), ("振宇", "zhenyu"), ("梦瑶", "mengyao"), ("嘉怡", "jiayi"),
)
EN_FIRST: tuple[str, ...] = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Daniel", "Karen", "Matthew", "Emma", "Anthony", "Olivia", "Mark", "Sophie", "Paul", "Laura",
    "Steven", "Anna", "Andrew", "Emily", "Kevin", "Grace", "Brian", "Hannah", "George", "Chloe",
    "Lucas", "Mia", "Oliver", "Julia", "Henry", "Clara", "Samuel", "Lena", "Benjamin", "Nina",
    "Marco", "Elena", "Pierre", "Camille", "Hans", "Ingrid", "Raj", "Priya", "Kenji", "Yuki",
)
EN_LAST: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris",
    "Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker",
    "Adams", "Nelson", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner",
    "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan",
    "Muller", "Schmidt", "Dubois", "Rossi", "Novak", "Larsen", "Tanaka", "Sato", "Kim", "Patel",
)

JOB_TITLES_ZH: tuple[str, ...] = (
    "采购经理", "总经理", "技术总监", "财务总监", "采购专员", "IT经理", "运营总监", "副总经理",
    "行政主管", "项目经理", "市场经理", "生产部长", "设备科长", "信息中心主任", "董事长", "工程师",
)
JOB_TITLES_EN: tuple[str, ...] = (
    "Procurement Manager", "General Manager", "CTO", "CFO", "Buyer", "IT Manager",
    "Head of Operations", "Vice President", "Office Manager", "Project Manager", "Marketing Manager",
    "Plant Manager", "Engineering Lead", "CIO", "CEO", "Engineer",
)
DEPARTMENTS_ZH: tuple[str, ...] = ("采购部", "技术部", "财务部", "市场部", "生产部", "信息中心", "行政部", "总经办")
DEPARTMENTS_EN: tuple[str, ...] = (
    "Procurement", "Engineering", "Finance", "Marketing", "Production", "IT", "Administration", "Management",
)
HOSPITAL_DEPARTMENTS_ZH: tuple[str, ...] = (
    "心内科", "呼吸内科", "消化内科", "神经内科", "内分泌科", "肿瘤科", "骨科", "儿科", "急诊科", "药剂科",
)
HOSPITAL_DEPARTMENTS_EN: tuple[str, ...] = (
    "Cardiology", "Respiratory", "Gastroenterology", "Neurology", "Endocrinology", "Oncology",
    "Orthopedics", "Pediatrics", "Emergency", "Pharmacy",
)

# -- places ---------------------------------------------------------------------------------
#: (city, pinyin, province, province in English), biggest markets first.
ZH_CITIES: tuple[tuple[str, str, str, str], ...] = (
    ("上海", "shanghai", "上海", "Shanghai"), ("北京", "beijing", "北京", "Beijing"),
    ("深圳", "shenzhen", "广东", "Guangdong"), ("广州", "guangzhou", "广东", "Guangdong"),
    ("杭州", "hangzhou", "浙江", "Zhejiang"), ("成都", "chengdu", "四川", "Sichuan"),
    ("苏州", "suzhou", "江苏", "Jiangsu"), ("南京", "nanjing", "江苏", "Jiangsu"),
    ("武汉", "wuhan", "湖北", "Hubei"), ("重庆", "chongqing", "重庆", "Chongqing"),
    ("天津", "tianjin", "天津", "Tianjin"), ("西安", "xian", "陕西", "Shaanxi"),
    ("宁波", "ningbo", "浙江", "Zhejiang"), ("青岛", "qingdao", "山东", "Shandong"),
    ("长沙", "changsha", "湖南", "Hunan"), ("郑州", "zhengzhou", "河南", "Henan"),
    ("无锡", "wuxi", "江苏", "Jiangsu"), ("东莞", "dongguan", "广东", "Guangdong"),
    ("佛山", "foshan", "广东", "Guangdong"), ("合肥", "hefei", "安徽", "Anhui"),
    ("厦门", "xiamen", "福建", "Fujian"), ("福州", "fuzhou", "福建", "Fujian"),
    ("济南", "jinan", "山东", "Shandong"), ("沈阳", "shenyang", "辽宁", "Liaoning"),
    ("大连", "dalian", "辽宁", "Liaoning"), ("昆明", "kunming", "云南", "Yunnan"),
    ("哈尔滨", "haerbin", "黑龙江", "Heilongjiang"), ("长春", "changchun", "吉林", "Jilin"),
    ("南昌", "nanchang", "江西", "Jiangxi"), ("贵阳", "guiyang", "贵州", "Guizhou"),
    ("南宁", "nanning", "广西", "Guangxi"), ("石家庄", "shijiazhuang", "河北", "Hebei"),
    ("太原", "taiyuan", "山西", "Shanxi"), ("温州", "wenzhou", "浙江", "Zhejiang"),
    ("常州", "changzhou", "江苏", "Jiangsu"), ("珠海", "zhuhai", "广东", "Guangdong"),
    ("兰州", "lanzhou", "甘肃", "Gansu"), ("乌鲁木齐", "wulumuqi", "新疆", "Xinjiang"),
    ("海口", "haikou", "海南", "Hainan"), ("呼和浩特", "huhehaote", "内蒙古", "Inner Mongolia"),
)
#: (city, country) outside China.
WORLD_CITIES: tuple[tuple[str, str], ...] = (
    ("Singapore", "Singapore"), ("Hong Kong", "China"), ("Tokyo", "Japan"), ("Seoul", "South Korea"),
    ("London", "United Kingdom"), ("New York", "United States"), ("San Francisco", "United States"),
    ("Chicago", "United States"), ("Toronto", "Canada"), ("Sydney", "Australia"),
    ("Melbourne", "Australia"), ("Frankfurt", "Germany"), ("Munich", "Germany"), ("Paris", "France"),
    ("Amsterdam", "Netherlands"), ("Zurich", "Switzerland"), ("Milan", "Italy"), ("Madrid", "Spain"),
    ("Stockholm", "Sweden"), ("Dubai", "United Arab Emirates"), ("Mumbai", "India"),
    ("Bangalore", "India"), ("Bangkok", "Thailand"), ("Kuala Lumpur", "Malaysia"),
    ("Jakarta", "Indonesia"), ("Ho Chi Minh City", "Vietnam"), ("Sao Paulo", "Brazil"),
    ("Mexico City", "Mexico"), ("Johannesburg", "South Africa"), ("Auckland", "New Zealand"),
)
#: (province, in English), from the cities above, for territories
PROVINCES: tuple[tuple[str, str], ...] = tuple(dict.fromkeys((p, en) for _c, _py, p, en in ZH_CITIES))
#: Mobile prefixes of the three Chinese carriers.
ZH_MOBILE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
    "156", "158", "159", "166", "170", "176", "177", "180", "181", "185", "186", "187", "188", "189",
    "191", "198", "199",
)
#: (country calling code, digits after it) for numbers outside China.
WORLD_PHONES: tuple[tuple[str, int], ...] = (
    ("+1", 10), ("+44", 10), ("+65", 8), ("+852", 8), ("+81", 10), ("+49", 10), ("+33", 9), ("+61", 9),
)
ZH_DISTRICTS: tuple[str, ...] = (
    "高新区", "经济开发区", "工业园区", "新区", "老城区", "城东", "城西", "城南", "中心区", "新城",
)
ZH_ROADS: tuple[str, ...] = (
    "科技路", "人民路", "建设大道", "中山路", "解放路", "创业路", "长江路", "世纪大道", "学院路", "金融街",
)
EN_STREETS: tuple[str, ...] = (
    "Market", "Park", "Oak", "Maple", "Harbour", "King", "Queen", "High", "Station", "Mill", "Church",
    "Bridge",
)
EN_STREET_KINDS: tuple[str, ...] = ("Street", "Road", "Avenue", "Lane", "Boulevard", "Way")
REGIONS_ZH: tuple[str, ...] = ("华东", "华北", "华南", "西南", "华中", "东北", "西北")
REGIONS_EN: tuple[str, ...] = (
    "East China", "North China", "South China", "Southwest", "Central China", "Northeast", "Northwest",
)

# -- companies ------------------------------------------------------------------------------
#: Trade names (字号) with pinyin, for company names, web sites and e-mail domains.
ZH_TRADE_NAMES: tuple[tuple[str, str], ...] = (
    ("恒信", "hengxin"), ("华瑞", "huarui"), ("鼎盛", "dingsheng"), ("远航", "yuanhang"), ("博源", "boyuan"),
    ("天成", "tiancheng"), ("金桥", "jinqiao"), ("中科", "zhongke"), ("新锐", "xinrui"), ("宏达", "hongda"),
    ("瑞丰", "ruifeng"), ("嘉禾", "jiahe"), ("星辰", "xingchen"), ("汇通", "huitong"), ("启明", "qiming"),
    ("众诚", "zhongcheng"), ("广联", "guanglian"), ("安泰", "antai"), ("明德", "mingde"), ("海纳", "haina"),
    ("九州", "jiuzhou"), ("长风", "changfeng"), ("同创", "tongchuang"), ("华信", "huaxin"), ("永盛", "yongsheng"),
    ("凯达", "kaida"), ("德润", "derun"), ("智远", "zhiyuan"), ("百川", "baichuan"), ("锦程", "jincheng"),
    ("力拓", "lituo"), ("正泰", "zhengtai"), ("益康", "yikang"), ("云帆", "yunfan"), ("融创", "rongchuang"),
    ("方圆", "fangyuan"), ("盛世", "shengshi"), ("联华", "lianhua"), ("创新", "chuangxin"), ("蓝海", "lanhai"),
)
ZH_INDUSTRY_WORDS: tuple[str, ...] = (
    "科技", "电子", "信息技术", "医药", "贸易", "机械", "实业", "食品", "物流", "建材", "自动化设备",
    "电气", "新材料", "网络科技", "医疗器械", "汽车销售", "家居", "环保科技", "能源", "软件",
)
ZH_COMPANY_SUFFIXES: tuple[str, ...] = ("有限公司", "有限公司", "有限公司", "股份有限公司", "集团有限公司")
EN_COMPANY_WORDS: tuple[str, ...] = (
    "Acme", "Northwind", "Summit", "Apex", "Pioneer", "Silverline", "Horizon", "Bluewater", "Redwood",
    "Granite", "Vertex", "Evergreen", "Harbor", "Lumen", "Orbit", "Sterling", "Crescent", "Atlas",
    "Beacon", "Cobalt", "Falcon", "Keystone", "Meridian", "Nimbus", "Quantum", "Riverside", "Sapphire",
)
EN_INDUSTRY_WORDS: tuple[str, ...] = (
    "Robotics", "Logistics", "Foods", "Medical", "Systems", "Trading", "Energy", "Electronics",
    "Software", "Industries", "Materials", "Retail", "Pharma", "Motors", "Networks", "Labs",
)
EN_COMPANY_SUFFIXES: tuple[str, ...] = ("Inc.", "Ltd", "LLC", "GmbH", "Co.", "Group", "Pte Ltd", "plc")
HOSPITAL_KINDS_ZH: tuple[str, ...] = (
    "第一人民医院", "中心医院", "中医院", "妇幼保健院", "第二人民医院", "大学附属医院", "社区卫生服务中心",
)
STORE_KINDS_ZH: tuple[str, ...] = ("旗舰店", "万达店", "中心店", "大药房", "便利店", "购物中心店")
HOSPITAL_KINDS_EN: tuple[str, ...] = (
    "General Hospital", "Medical Center", "Children's Hospital", "University Hospital", "Clinic",
)
STORE_KINDS_EN: tuple[str, ...] = ("Flagship Store", "Mall Store", "Pharmacy", "Express", "Outlet")
PERSONAL_MAIL_ZH: tuple[str, ...] = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "139.com")
PERSONAL_MAIL_EN: tuple[str, ...] = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com")

# -- products, deals, work ---------------------------------------------------------------------
#: Product names by industry hint (a word of the preset name or of the entity).
PRODUCTS: dict[str, tuple[tuple[str, str], ...]] = {
    "pharma": (
        ("阿莫西林胶囊", "Amoxicillin Capsules"), ("阿托伐他汀钙片", "Atorvastatin Tablets"),
        ("二甲双胍缓释片", "Metformin XR"), ("布洛芬缓释胶囊", "Ibuprofen SR"), ("奥美拉唑肠溶片", "Omeprazole"),
        ("氨氯地平片", "Amlodipine"), ("头孢克肟颗粒", "Cefixime Granules"), ("胰岛素注射液", "Insulin Injection"),
    ),
    "food": (
        ("纯净水 550ml", "Still Water 550ml"), ("绿茶饮料 500ml", "Green Tea 500ml"),
        ("全麦饼干", "Wholegrain Biscuits"),
        ("酸奶 200g", "Yogurt 200g"), ("坚果礼盒", "Nut Gift Box"), ("果汁 1L", "Orange Juice 1L"),
    ),
    "auto": (
        ("轿车 1.5T 舒适版", "Sedan 1.5T Comfort"), ("SUV 2.0T 四驱旗舰版", "SUV 2.0T AWD Flagship"),
        ("新能源轿车 长续航版", "EV Sedan Long Range"), ("MPV 七座商务版", "MPV 7-seat Business"),
    ),
    "default": (
        ("智能温控器", "Smart Thermostat"), ("工业传感器", "Industrial Sensor"), ("数据采集网关", "Data Gateway"),
        ("激光打印机", "Laser Printer"), ("会议平板", "Meeting Display"), ("服务器", "Rack Server"),
        ("办公椅", "Office Chair"), ("升降办公桌", "Standing Desk"), ("GPS 定位终端", "GPS Tracker"),
        ("云存储服务", "Cloud Storage Plan"), ("CRM 年度许可", "CRM Annual License"), ("变频空调", "Inverter AC"),
        ("超声诊断仪", "Ultrasound Scanner"), ("PLC 控制器", "PLC Controller"), ("安全帽", "Safety Helmet"),
    ),
}
PROJECT_WORDS_ZH: tuple[str, ...] = (
    "采购项目", "升级改造", "年度框架合作", "信息化建设", "扩产项目", "设备更新", "试点项目",
)
PROJECT_WORDS_EN: tuple[str, ...] = (
    "rollout", "upgrade", "framework deal", "expansion", "pilot", "renewal", "replacement",
)
CAMPAIGNS_ZH: tuple[str, ...] = (
    "春季新品发布会", "行业峰会", "会员日促销", "年终答谢会", "线上直播推广", "双十一大促", "区域巡展",
    "学术推广会",
)
CAMPAIGNS_EN: tuple[str, ...] = (
    "Spring launch", "Industry summit", "Member day", "Year-end gala", "Webinar series", "Black Friday",
    "Roadshow", "Customer forum",
)
SUBJECTS_ZH: tuple[str, ...] = (
    "电话跟进报价", "上门拜访", "产品演示", "发送方案", "合同条款沟通", "售后回访", "催收货款", "需求调研",
    "邀请参加展会", "技术交流会", "确认交付时间", "节日问候",
)
SUBJECTS_EN: tuple[str, ...] = (
    "Follow-up call on the quote", "On-site visit", "Product demo", "Send proposal", "Contract terms review",
    "After-sales check-in", "Payment reminder", "Needs assessment", "Trade show invitation",
    "Technical workshop", "Confirm delivery date", "Seasonal greetings",
)
COMPLAINTS_ZH: tuple[str, ...] = (
    "产品质量问题", "退换货申请", "配送延迟", "会员积分未到账", "服务态度投诉", "发票开具问题", "设备故障报修",
    "安装预约变更", "价格争议", "账户信息错误",
)
COMPLAINTS_EN: tuple[str, ...] = (
    "Product quality issue", "Return request", "Late delivery", "Points not credited", "Staff attitude",
    "Invoice problem", "Device fault", "Installation rescheduling", "Price dispute", "Wrong account details",
)
NOTES_ZH: tuple[str, ...] = (
    "客户对价格比较敏感，需要申请特价。", "决策人下月出差，约定回来后再谈。", "竞品也在接触，对方报价低 5%。",
    "已发送技术方案，等待对方内部评审。", "客户反馈交付周期偏长。", "采购预算已批，预计本季度下单。",
    "新任科室主任，需要重新建立关系。", "客户希望增加培训服务。", "对售后响应速度表示满意。", "需要财务确认付款条件。",
)
NOTES_EN: tuple[str, ...] = (
    "Price sensitive; a special discount needs approval.", "Decision maker travels next month; meet after.",
    "A competitor is also talking to them, 5% cheaper.", "Proposal sent, waiting for their internal review.",
    "They find our delivery time too long.", "Budget approved; order expected this quarter.",
    "New head of department; the relationship must be rebuilt.", "They would like extra training.",
    "Happy with the after-sales response time.", "Finance must confirm the payment terms.",
)
DOSAGE_FORMS_ZH: tuple[str, ...] = ("片剂", "胶囊", "注射液", "颗粒", "口服液", "缓释片")
DOSAGE_FORMS_EN: tuple[str, ...] = ("Tablet", "Capsule", "Injection", "Granules", "Oral solution", "Extended release")
UNITS_ZH: tuple[str, ...] = ("台", "套", "件", "个", "箱", "盒", "年")
UNITS_EN: tuple[str, ...] = ("unit", "set", "piece", "each", "box", "pack", "year")
CATEGORIES_ZH: tuple[str, ...] = ("办公设备", "工业自动化", "医疗器械", "软件服务", "通信设备", "配件耗材", "售后服务")
CATEGORIES_EN: tuple[str, ...] = ("Office equipment", "Industrial automation", "Medical devices", "Software",
                                  "Telecom equipment", "Spare parts", "Services")
NEXT_STEPS_ZH: tuple[str, ...] = (
    "安排技术交流", "发送正式报价", "约见决策人", "安排样机试用",
    "确认采购预算", "准备投标文件", "邀请参观工厂", "跟进合同审批",
)
NEXT_STEPS_EN: tuple[str, ...] = ("Technical workshop", "Send the formal quote", "Meet the decision maker",
                                  "Arrange a trial unit", "Confirm the budget", "Prepare the bid",
                                  "Invite to a factory visit", "Follow the contract approval")
PAYMENT_TERMS_ZH: tuple[str, ...] = ("月结30天", "预付30%，发货前付清", "货到付款", "月结60天", "分期付款")
PAYMENT_TERMS_EN: tuple[str, ...] = ("Net 30", "30% upfront, rest before shipping", "Cash on delivery", "Net 60",
                                     "Instalments")
SOURCES_ZH: tuple[str, ...] = ("官网", "展会", "老客户转介绍", "电话营销", "微信")
SOURCES_EN: tuple[str, ...] = ("Website", "Trade show", "Referral", "Cold call", "LinkedIn")
REASONS_ZH: tuple[str, ...] = (
    "价格超出授权范围", "客户信用额度不足", "合同条款不完整", "缺少盖章文件", "交付日期无法满足",
)
REASONS_EN: tuple[str, ...] = ("Price below the approved floor", "Credit limit exceeded", "Contract terms incomplete",
                               "Signed documents missing", "Delivery date cannot be met")
#: Tier names for level-like lookup entities, lowest first.
TIERS_ZH: tuple[str, ...] = ("普通会员", "银卡会员", "金卡会员", "铂金会员", "钻石会员", "黑卡会员")
TIERS_EN: tuple[str, ...] = ("Basic", "Silver", "Gold", "Platinum", "Diamond", "Black")
