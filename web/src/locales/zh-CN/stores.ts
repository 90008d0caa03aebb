export default {
  title: '门店',
  new: '新建门店',
  newTitle: '新建门店',
  editTitle: '编辑门店：{name}',
  createdOne: '已创建门店 {name}',
  name: '门店名称',
  namePlaceholder: '如 上海静安店',
  code: '门店编码',
  codeHelp: '编码是门店的简短代号（字母、数字、_ 或 -），不能与其他门店重复，用于 API 和报表。',
  address: '地址',
  phone: '电话',
  created: '创建时间',
  err: {
    code: '编码为 1–32 位字母、数字、_ 或 -',
    name: '请填写门店名称',
    phone: '电话只能包含数字、空格和 + - ( )',
  },
}
