//! Word lists and weights: surnames, given-name characters, industries, company words.
//!
//! Frequencies are approximate shares for north-east China (surnames in per ten thousand), picked
//! so that the common names repeat as they do in a real register.

/// Surnames with relative frequencies (about 1/10 000 of the population each unit).
pub(crate) const SURNAMES: [(&str, u32); 74] = [
    ("李", 740),
    ("王", 720),
    ("张", 710),
    ("刘", 570),
    ("赵", 320),
    ("杨", 300),
    ("陈", 280),
    ("孙", 260),
    ("马", 190),
    ("周", 160),
    ("高", 150),
    ("徐", 140),
    ("吴", 130),
    ("于", 120),
    ("郭", 120),
    ("朱", 110),
    ("韩", 110),
    ("黄", 100),
    ("胡", 100),
    ("宋", 90),
    ("董", 90),
    ("梁", 80),
    ("冯", 80),
    ("曹", 80),
    ("田", 80),
    ("姜", 80),
    ("林", 70),
    ("郑", 70),
    ("许", 70),
    ("崔", 70),
    ("何", 60),
    ("唐", 60),
    ("杜", 60),
    ("魏", 60),
    ("吕", 60),
    ("任", 60),
    ("孟", 60),
    ("罗", 50),
    ("谢", 50),
    ("肖", 50),
    ("袁", 50),
    ("程", 50),
    ("苏", 50),
    ("丁", 50),
    ("卢", 50),
    ("范", 50),
    ("金", 50),
    ("石", 50),
    ("贾", 50),
    ("付", 50),
    ("白", 50),
    ("邓", 40),
    ("彭", 40),
    ("潘", 40),
    ("蒋", 40),
    ("蔡", 40),
    ("沈", 40),
    ("姚", 40),
    ("邹", 40),
    ("常", 40),
    ("关", 40),
    ("侯", 40),
    ("曾", 30),
    ("余", 30),
    ("叶", 30),
    ("谭", 30),
    ("陆", 30),
    ("夏", 30),
    ("方", 30),
    ("秦", 30),
    ("尹", 30),
    ("邵", 30),
    ("汪", 20),
    ("廖", 20),
];

/// Given-name characters by generation (born before 1970, 1970-1999, from 2000) and gender:
/// `[era][female as usize]`. 150 characters in all.
pub(crate) const GIVEN: [[&[&str]; 2]; 3] = [
    [
        &[
            "国", "建", "志", "德", "福", "生", "永", "贵", "庆", "春", "林", "明", "军", "华",
            "海", "文", "忠", "学", "荣", "发", "山", "成", "玉", "宝", "金",
        ],
        &[
            "秀", "桂", "淑", "凤", "兰", "英", "玉", "珍", "芳", "华", "琴", "云", "霞", "萍",
            "梅", "荣", "春", "香", "芝", "素", "爱", "丽", "敏", "翠", "莲",
        ],
    ],
    [
        &[
            "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "刚", "平", "辉", "鹏", "飞",
            "波", "亮", "峰", "东", "宏", "新", "剑", "锋", "松", "鑫", "明",
        ],
        &[
            "丽", "艳", "娟", "静", "敏", "燕", "玲", "红", "娜", "霞", "丹", "洁", "晶", "颖",
            "莉", "琳", "婷", "雪", "慧", "倩", "佳", "媛", "萍", "微", "妍",
        ],
    ],
    [
        &[
            "浩", "宇", "轩", "子", "梓", "睿", "博", "一", "航", "泽", "辰", "铭", "俊", "豪",
            "然", "嘉", "皓", "煜", "宸", "凯", "晨", "诚", "逸", "瑞", "天",
        ],
        &[
            "欣", "怡", "涵", "萱", "梓", "子", "琪", "雨", "诗", "悦", "思", "可", "馨", "彤",
            "佳", "语", "一", "若", "钰", "婉", "梦", "瑶", "晨", "妍", "依",
        ],
    ],
];

/// Three-digit mobile prefixes of the three carriers.
pub(crate) const MOBILE_PREFIXES: [u16; 36] = [
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 145, 147, 150, 151, 152, 153, 155, 156, 157,
    158, 159, 166, 173, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199,
];

/// An industry: GB/T 4754-2017 section name, relative weight among enterprises, and the words a
/// company name of that industry uses.
///
/// INVARIANT: no word ends in 集团 or 股份, and none contains 有限, so that the company form
/// appended after it (see `COMPANY_FORMS`) can always be read back unambiguously.
pub(crate) struct Industry {
    pub(crate) section: &'static str,
    pub(crate) weight: u32,
    pub(crate) words: &'static [&'static str],
}

pub(crate) const MINING: usize = 0;
pub(crate) const MANUFACTURING: usize = 1;
pub(crate) const ENERGY: usize = 2;
pub(crate) const CONSTRUCTION: usize = 3;
pub(crate) const TRANSPORT: usize = 5;

pub(crate) const INDUSTRIES: [Industry; 18] = [
    Industry {
        section: "采矿业",
        weight: 110,
        words: &["煤业", "矿业", "煤矿", "选煤", "煤炭开采"],
    },
    Industry {
        section: "制造业",
        weight: 170,
        words: &[
            "机械制造",
            "化工",
            "食品",
            "建材",
            "煤化工",
            "矿山机械",
            "木业",
        ],
    },
    Industry {
        section: "电力、热力、燃气及水生产和供应业",
        weight: 25,
        words: &["热电", "电力", "供热", "燃气", "水务"],
    },
    Industry {
        section: "建筑业",
        weight: 80,
        words: &["建筑工程", "建设", "路桥工程", "装饰工程"],
    },
    Industry {
        section: "批发和零售业",
        weight: 220,
        words: &["商贸", "贸易", "百货", "医药", "粮油经销"],
    },
    Industry {
        section: "交通运输、仓储和邮政业",
        weight: 50,
        words: &["物流", "运输", "客运", "仓储"],
    },
    Industry {
        section: "住宿和餐饮业",
        weight: 80,
        words: &["餐饮管理", "酒店管理", "宾馆"],
    },
    Industry {
        section: "信息传输、软件和信息技术服务业",
        weight: 20,
        words: &["网络科技", "信息技术", "软件开发"],
    },
    Industry {
        section: "金融业",
        weight: 12,
        words: &["小额贷款", "融资担保"],
    },
    Industry {
        section: "房地产业",
        weight: 30,
        words: &["房地产开发", "物业服务", "置业"],
    },
    Industry {
        section: "农、林、牧、渔业",
        weight: 80,
        words: &["农业", "米业", "牧业", "农业科技", "渔业"],
    },
    Industry {
        section: "租赁和商务服务业",
        weight: 40,
        words: &["商务服务", "企业管理咨询", "设备租赁"],
    },
    Industry {
        section: "科学研究和技术服务业",
        weight: 10,
        words: &["技术服务", "检测技术"],
    },
    Industry {
        section: "居民服务、修理和其他服务业",
        weight: 30,
        words: &["家政服务", "汽车维修"],
    },
    Industry {
        section: "水利、环境和公共设施管理业",
        weight: 10,
        words: &["环境工程", "园林绿化"],
    },
    Industry {
        section: "教育",
        weight: 10,
        words: &["教育科技", "教育咨询"],
    },
    Industry {
        section: "卫生和社会工作",
        weight: 15,
        words: &["医院管理", "康养服务"],
    },
    Industry {
        section: "文化、体育和娱乐业",
        weight: 10,
        words: &["文化传媒", "体育发展"],
    },
];

/// The industries of the few largest employers (a coal city's mining group, power plant, ...).
pub(crate) const GIANT_INDUSTRIES: [usize; 8] = [
    MINING,
    MINING,
    ENERGY,
    MANUFACTURING,
    MINING,
    MANUFACTURING,
    CONSTRUCTION,
    TRANSPORT,
];

/// First and second characters of the two-character trade names (字号).
///
/// INVARIANT: no character repeats within a list, so `(first, second)` pairs give distinct words.
pub(crate) const WORD_FIRST: [&str; 40] = [
    "鑫", "宏", "恒", "兴", "华", "金", "盛", "永", "瑞", "隆", "富", "天", "新", "龙", "泰", "德",
    "源", "丰", "昌", "中", "联", "大", "广", "嘉", "益", "博", "汇", "通", "鼎", "信", "安", "宝",
    "北", "东", "亿", "佳", "万", "正", "合", "长",
];
pub(crate) const WORD_SECOND: [&str; 40] = [
    "达", "源", "泰", "隆", "盛", "兴", "发", "丰", "利", "顺", "安", "诚", "信", "和", "元", "鑫",
    "通", "业", "昌", "祥", "宇", "洋", "峰", "远", "辉", "晟", "润", "成", "鸿", "茂", "海", "林",
    "恒", "科", "卓", "山", "川", "江", "瀚", "鹏",
];

/// Company forms, indexed by how many enterprises before this one share its trade name; beyond
/// the list a numbered branch is written. See `model::enterprise_name` for the uniqueness argument.
pub(crate) const COMPANY_FORMS: [&str; 4] =
    ["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"];
